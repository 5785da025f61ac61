"""归档 of every outcome (规程第三十二条): a case refused without any registry write is archived like an
approved one, under the classification of 《社会保险业务档案管理规定（试行）》 (第八条) with its own 档号
and the retention of its annex."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from minio.commonconfig import COMPLIANCE
from sqlalchemy import select

from archive import classification
from archive.models import ArchivePackage, Document
from canbao.actors import SYSTEM
from canbao.clock import CHINA
from canbao.config import PROJECT_ROOT
from canbao.db import utcnow
from engine import cases, definitions, worker
from registry import persons

from ..engine.office import APPROVE, PLATFORM1, REJECT, VILLAGE, counter_form, id_number
from ..engine.samples import HEAD
from .conftest import JPEG, PDF

# Collect a 登记表, decide; approval stores then archives, refusal archives straight away.
SMALL = (
    HEAD + '<bpmn:process id="archive_sample" name="归档测试" isExecutable="true">'
    '<bpmn:laneSet id="ls">'
    '<bpmn:lane id="l2" name="县级经办机构"><bpmn:flowNodeRef>decide</bpmn:flowNodeRef></bpmn:lane>'
    '<bpmn:lane id="l3" name="基层平台"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
    "<bpmn:flowNodeRef>collect</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef>"
    "<bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>store</bpmn:flowNodeRef>"
    "<bpmn:flowNodeRef>archive</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>"
    "</bpmn:laneSet>"
    '<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="collect"/>'
    '<bpmn:userTask id="collect" name="采集"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formKey" value="registration"/>'
    '<spiffworkflow:property name="dataKey" value="registration"/>'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:sequenceFlow id="f2" sourceRef="collect" targetRef="check"/>'
    '<bpmn:userTask id="check" name="初审"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formKey" value="review_decision"/>'
    '<spiffworkflow:property name="dataKey" value="check"/>'
    '<spiffworkflow:property name="decisions" value="approve"/>'
    '<spiffworkflow:property name="duty" value="initial_review"/>'
    '<spiffworkflow:property name="separateFrom" value="collect"/>'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:sequenceFlow id="f2b" sourceRef="check" targetRef="decide"/>'
    '<bpmn:userTask id="decide" name="审定"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formKey" value="review_decision"/>'
    '<spiffworkflow:property name="dataKey" value="decide"/>'
    '<spiffworkflow:property name="decisions" value="approve,reject"/>'
    '<spiffworkflow:property name="duty" value="final_review"/>'
    '<spiffworkflow:property name="authorization" value="survey"/>'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="gw"/>'
    '<bpmn:exclusiveGateway id="gw" default="f_reject"/>'
    '<bpmn:sequenceFlow id="f_approve" sourceRef="gw" targetRef="store">'
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decide["decision"] == "approve"'
    "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="f_reject" sourceRef="gw" targetRef="archive"/>'
    '<bpmn:serviceTask id="store" name="入库"><bpmn:extensionElements>'
    '<spiffworkflow:serviceTaskOperator id="registry.store" resultVariable="stored">'
    "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
    '<bpmn:sequenceFlow id="f4" sourceRef="store" targetRef="archive"/>'
    '<bpmn:serviceTask id="archive" name="归档"><bpmn:extensionElements>'
    '<spiffworkflow:serviceTaskOperator id="archive.seal" resultVariable="archived">'
    "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
    '<bpmn:sequenceFlow id="f5" sourceRef="archive" targetRef="end"/>'
    '<bpmn:endEvent id="end" name="办结"/>'
    "</bpmn:process></bpmn:definitions>"
)


def _package(db, case_id: int) -> ArchivePackage:
    with db.sessions() as s:
        return s.scalars(select(ArchivePackage).where(ArchivePackage.case_id == case_id)).one()


def _manifest(api, package: ArchivePackage) -> dict:
    body = api.minio.get_object(
        api.settings.s3_bucket, package.manifest_key, version_id=package.manifest_version
    )
    try:
        return json.loads(body.read())
    finally:
        body.close()


def test_a_refused_case_is_archived_though_nothing_reached_the_registry(archive_api):
    api = archive_api
    with api.db.sessions() as s, s.begin():
        definitions.deploy(s, actor=SYSTEM, bpmn_xml=SMALL)
    person = id_number(seq="611")
    api.population(person)
    with api.db.sessions() as s, s.begin():  # the API starts the shipped processes only
        case_id = cases.start(
            s,
            actor=PLATFORM1,
            process_key="archive_sample",
            area=VILLAGE,
            person_id=person,
            person_name="赵某",
            team_id=None,
        ).id
    form = api.upload(case_id, "platform1", PDF).json()
    card = api.upload(case_id, "platform1", JPEG, kind="id_card_front").json()
    api.complete("platform1", case_id, counter_form(person))
    api.complete("platform2", case_id, APPROVE)
    done = api.complete("county1", case_id, REJECT)
    assert (done["status"], done["status_detail"]) == ("waiting", "等待归档")

    assert worker.run_due(api.db.sessions) == 1
    case = api.get(f"/cases/{case_id}", "county1").json()
    assert (case["status"], case["outcome"]) == ("completed", "办结")
    with api.db.sessions() as s:
        assert persons.get(s, id_number=person).registered_at is None  # no 入库 happened
        docs = list(s.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))

    package = _package(api.db, case_id)
    year = utcnow().astimezone(CHINA).year
    until = datetime(year + 101, 1, 1, tzinfo=CHINA)
    assert package.archive_no == f"370102-{year}-D100-RYDJ-QT-BY-000001"
    assert (package.outcome, package.documents, package.retain_until) == ("rejected", 2, until)
    manifest = _manifest(api, package)
    assert manifest["classification"]["outcome"] == {"code": "BY", "title": "不予办理"}
    assert manifest["data"]["decide"] == REJECT and "stored" not in manifest["data"]
    assert [d["id"] for d in manifest["documents"]] == [form["id"], card["id"]]
    decided = [d["decision"] for d in manifest["decisions"] if d["decision"]]
    assert decided == ["approve", "reject"]  # 初审, then 审定
    for document in docs:
        assert (document.sealed_at, document.retain_until) == (package.sealed_at, until)
        retention = api.minio.get_object_retention(
            api.settings.s3_bucket, document.object_key, version_id=document.object_version
        )
        assert retention.mode == COMPLIANCE


def test_a_refused_id_correction_is_archived_as_不予更正(archive_api):
    """The shipped 公民身份号码更正 refuses through 归档: paperwork kept, registry untouched."""
    api = archive_api
    wrong, right = id_number(seq="621"), id_number(seq="623")
    api.population(wrong)
    r = api.post(
        "/cases", "platform1", json={"process": "id_correction", "person_id": wrong, "area": VILLAGE}
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    api.upload(case_id, "platform1", PDF, kind="other")
    correction = {
        "id_number": wrong,
        "new_id_number": right,
        "reason": "原登记时号码录入错误，以户口簿为准",
        "evidence": ["doc-1"],
    }
    api.complete("platform1", case_id, correction)
    api.complete("platform2", case_id, APPROVE)
    api.complete("county1", case_id, REJECT)
    assert worker.run_due(api.db.sessions) == 1
    assert api.get(f"/cases/{case_id}", "county1").json()["outcome"] == "不予更正"
    with api.db.sessions() as s:
        assert persons.get(s, id_number=wrong) is not None and persons.get(s, id_number=right) is None

    package = _package(api.db, case_id)
    year = utcnow().astimezone(CHINA).year
    assert package.archive_no == f"370102-{year}-D100-RYDJ-GZ-BY-000001"
    classified = _manifest(api, package)["classification"]
    assert (classified["step"], classified["outcome"]) == (
        {"code": "GZ", "title": "信息更正"},
        {"code": "BY", "title": "不予更正"},
    )


def test_item_numbers_run_on_within_each_series(db):
    at = datetime(2026, 12, 31, 23, 30, tzinfo=CHINA)
    registered = classification.classify(process_key="counter_collection", area=VILLAGE, at=at, decisions=[])
    refused = classification.classify(
        process_key="survey_registration", area=VILLAGE, at=at, decisions=["approve", "reject"]
    )
    with db.sessions() as s, s.begin():
        numbers = [classification.archive_no(s, c) for c in (registered, registered, refused, registered)]
    assert numbers == [
        "370102-2026-D100-RYDJ-DJ-ZY-000001",
        "370102-2026-D100-RYDJ-DJ-ZY-000002",
        "370102-2026-D100-RYDJ-DJ-BY-000001",
        "370102-2026-D100-RYDJ-DJ-ZY-000003",
    ]
    with db.sessions() as s, s.begin():  # a number taken in a transaction that rolled back is free again
        classification.archive_no(s, refused)
        s.rollback()
    with db.sessions() as s, s.begin():
        assert classification.archive_no(s, refused) == "370102-2026-D100-RYDJ-DJ-BY-000002"


@pytest.mark.parametrize(
    ("decisions", "outcome"),
    [
        ([], "approved"),
        (["approve"], "approved"),
        (["return", "approve", "reject"], "rejected"),
        (["reject", "approve"], "approved"),
    ],
)
def test_the_outcome_is_the_last_approval_or_refusal(decisions, outcome):
    at = datetime(2026, 6, 1, tzinfo=CHINA)
    assert (
        classification.classify(
            process_key="change_approval", area=VILLAGE, at=at, decisions=decisions
        ).outcome
        == outcome
    )


def test_every_shipped_process_that_archives_has_its_business_step():
    """A shipped process that calls archive.seal is classified by its key, not as 其他 (QT)."""
    archiving = set()
    for path in (PROJECT_ROOT / "bpmn").glob("*.bpmn"):
        root = ET.parse(path).getroot()
        for process in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}process"):
            if any(
                op.get("id") == "archive.seal"
                for op in process.iter()
                if op.tag.endswith("serviceTaskOperator")
            ):
                archiving.add(process.get("id"))
    assert archiving >= {"survey_registration", "counter_collection", "change_approval", "id_correction"}
    steps = {key: classification.STEPS[key].code for key in archiving}
    assert steps == {
        "survey_registration": "DJ",
        "counter_collection": "DJ",
        "change_approval": "BG",
        "self_service_update": "GZ",
        "id_correction": "GZ",
    }
    for key in archiving:  # every one is 参保人员登记材料, kept 100 years (annex 一（二）)
        at = datetime(2026, 1, 1, tzinfo=CHINA)
        found = classification.classify(process_key=key, area=VILLAGE, at=at, decisions=[])
        assert (found.category.code, found.category.retention.years) == ("RYDJ", 100)
