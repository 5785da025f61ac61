"""Sealing at 入库: the manifest, compliance retention that the server itself enforces, and the worker
retrying while the store is down."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from sqlalchemy import select

from archive.models import ArchivePackage, Document
from canbao.audit.models import AuditEvent
from canbao.clock import CHINA
from canbao.db import utcnow
from engine import worker

from .conftest import JPEG, PDF


def _package(db, case_id: int) -> ArchivePackage | None:
    with db.sessions() as s:
        return s.scalar(select(ArchivePackage).where(ArchivePackage.case_id == case_id))


def test_survey_case_is_sealed_under_compliance_retention_and_completes(archive_api):
    api = archive_api
    case_id, person = api.start_survey()
    form = api.upload(case_id, "surveyor1", PDF).json()
    card = api.upload(case_id, "surveyor1", JPEG, kind="id_card_front").json()
    done = api.approve_to_sealing(case_id, person)
    assert (done["status"], done["status_detail"]) == ("waiting", "等待归档")
    r = api.upload(case_id, "platform1", b"%PDF-1.4 late", kind="other")
    assert r.status_code == 409 and r.json()["code"] == "document.case_not_running"  # documents are final

    assert worker.run_due(api.db.sessions) == 1
    case = api.get(f"/cases/{case_id}", "county1").json()
    assert (case["status"], case["outcome"]) == ("completed", "已入库")
    r = api.upload(case_id, "platform1", PDF + b"corrected")
    assert r.status_code == 409 and "变更案件" in r.json()["detail"]  # a correction is a new change case

    package = _package(api.db, case_id)
    until = datetime(utcnow().astimezone(CHINA).year + 101, 1, 1, tzinfo=CHINA)
    assert (package.documents, package.protection, package.retain_until) == (2, "compliance", until)
    body = api.minio.get_object(
        api.settings.s3_bucket, package.manifest_key, version_id=package.manifest_version
    )
    manifest = json.loads(body.read())
    body.close()
    assert package.manifest_key == f"cases/{case_id}/manifest-{package.sha256}.json"
    assert manifest["case"]["person_id"] == person and manifest["data"]["registration"]["id_number"] == person
    # 《社会保险业务档案管理规定（试行）》第八条: 年度—业务类别—业务环节, and its 档号
    year = utcnow().astimezone(CHINA).year
    assert package.archive_no == f"370102-{year}-D100-RYDJ-DJ-ZY-000001"
    assert (package.archive_year, package.category, package.step, package.outcome) == (
        year,
        "RYDJ",
        "DJ",
        "approved",
    )
    assert manifest["format"] == "canbao.archive-manifest/2"
    assert manifest["classification"] == {
        "archive_no": package.archive_no,
        "fonds": "370102",
        "year": year,
        "category": {"code": "RYDJ", "title": "参保人员登记材料", "annex": "一、社会保险管理类（二）"},
        "step": {"code": "DJ", "title": "参保登记"},
        "outcome": {"code": "ZY", "title": "准予登记"},
        "title": f"{year}年 参保人员登记材料 参保登记 准予登记",
    }
    assert manifest["retention"]["mark"] == "D100"
    listed = api.get(f"/cases/{case_id}/documents", "county1").json()
    assert listed["package"] == {
        "archive_no": package.archive_no,
        "title": manifest["classification"]["title"],
        "retention": "参保人员登记材料（100年）",
        "retain_until": until.astimezone(UTC).isoformat(),
        "archived_at": package.sealed_at.isoformat(),
    }
    with api.db.sessions() as s:
        docs = {d.id: d for d in s.scalars(select(Document).where(Document.case_id == case_id))}
        anchor = s.get(AuditEvent, manifest["audit"]["event"])
        seal = s.scalar(select(AuditEvent).where(AuditEvent.action == "archive.seal"))
        between = s.scalars(
            select(AuditEvent.actor_sub).where(
                AuditEvent.case_id == case_id, AuditEvent.id > anchor.id, AuditEvent.id <= seal.id
            )
        ).all()
    assert [(d["id"], d["sha256"], d["version"]) for d in manifest["documents"]] == [
        (i, docs[i].sha256, docs[i].object_version) for i in (form["id"], card["id"])
    ]
    assert anchor.case_id == case_id and manifest["audit"]["hash"] == anchor.hash
    assert set(between) == {"system"}  # the anchor is the last event before the worker's sealing step
    decisions = [
        (d["actor"], d["task"], d["decision"]) for d in manifest["decisions"] if d["action"] != "case.start"
    ]
    assert decisions == [
        ("surveyor1", "survey", None),
        ("platform1", "initial_review", "approve"),
        ("county1", "final_review", "approve"),
    ]
    assert all(d.sealed_at is not None and d.retain_until == until for d in docs.values())

    bucket = api.settings.s3_bucket
    for key, version in [(d.object_key, d.object_version) for d in docs.values()] + [
        (package.manifest_key, package.manifest_version)
    ]:
        retention = api.minio.get_object_retention(bucket, key, version_id=version)
        assert retention.mode == COMPLIANCE and retention.retain_until_date == until.astimezone(UTC)
        with pytest.raises(S3Error) as refused:
            api.minio.remove_object(bucket, key, version_id=version)
        assert refused.value.code == "AccessDenied"  # the server's own refusal, not canbao's

    # A new version written straight into the bucket does not replace what canbao serves.
    sealed = docs[form["id"]]
    api.minio.put_object(bucket, sealed.object_key, io.BytesIO(b"%PDF-forged"), 11)
    assert api.get(f"/documents/{form['id']}", "county1").content == PDF
    assert (seal.case_id, seal.payload_json["sha256"]) == (case_id, package.sha256)


def test_store_down_during_upload_gives_503_and_leaves_nothing_behind(own_api, own_weed):
    api = own_api
    case_id, _ = api.start_survey()
    assert api.upload(case_id, "surveyor1", PDF).status_code == 201
    with api.db.sessions() as s:
        events = len(s.scalars(select(AuditEvent.id).where(AuditEvent.case_id == case_id)).all())
    version = api.get(f"/cases/{case_id}", "platform1").json()["version"]
    assert api.client.get("/readyz").json()["checks"]["object_store"] == "ok"

    own_weed.stop()
    try:
        r = api.upload(case_id, "surveyor1", JPEG, kind="id_card_front")
        assert r.status_code == 503
        problem = r.json()
        assert problem["code"] == "archive.unavailable" and "文件未保存" in problem["detail"]
        ready = api.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["object_store"].startswith("error")
    finally:
        own_weed.start()

    with api.db.sessions() as s:
        assert len(s.scalars(select(Document.id)).all()) == 1
        after = s.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id)).all()
    assert len(after) == events + 1 and after[-1] == "person.read"  # only the case view above
    assert api.get(f"/cases/{case_id}", "platform1").json()["version"] == version
    assert len(api.objects()) == 1
    assert api.upload(case_id, "surveyor1", JPEG, kind="id_card_front").status_code == 201


def test_seal_waits_while_the_store_is_down_and_completes_once_it_is_back(own_api, own_weed):
    api = own_api
    case_id, person = api.start_survey()
    api.upload(case_id, "surveyor1", PDF)
    own_weed.stop()
    try:
        assert api.approve_to_sealing(case_id, person)["status"] == "waiting"
        assert worker.run_due(api.db.sessions) == 0
        case = api.get(f"/cases/{case_id}", "county1").json()
        assert case["status"] == "waiting" and case["outcome"] is None
        assert "等待归档：第 1 次尝试失败" in case["status_detail"]
        assert "档案存储服务暂时无法访问" in case["status_detail"]
        assert _package(api.db, case_id) is None
    finally:
        own_weed.start()

    assert worker.run_due(api.db.sessions) == 0  # backing off: not due yet
    assert worker.run_due(api.db.sessions, now=utcnow() + timedelta(minutes=5)) == 1
    case = api.get(f"/cases/{case_id}", "county1").json()
    assert (case["status"], case["status_detail"], case["outcome"]) == ("completed", None, "已入库")
    assert _package(api.db, case_id).documents == 1
