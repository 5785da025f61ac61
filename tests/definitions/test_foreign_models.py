"""BPMN drawn elsewhere, as a process manager uploads it: the BPMN MIWG reference models, exports from
Camunda Modeler 7 and Flowable's designer, and files in UTF-16 or GBK.

Every problem names an element of the document (or says it concerns the whole document), reads as
Chinese with no Python internals in it, and a document lists all of its problems at once. Camunda and
Flowable properties and JUEL conditions that canbao can run are translated; what it cannot run is
named precisely (element, attribute, why) and nothing is deployed.
"""

import re

import pytest
from lxml import etree

from engine.errors import DOCUMENT_CODES

from ..engine.office import APPROVE, COUNTY1, PLATFORM1, PLATFORM2, REJECT, RETURN, Office, id_number
from .variants import FIXTURES

XML = {"Content-Type": "application/xml"}
REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")
ALL = sorted(FIXTURES.rglob("*.bpmn"))
MIWG = sorted((FIXTURES / "miwg").glob("*.bpmn"))
DIALECTS = FIXTURES / "dialects"


def validate(api, raw: bytes) -> dict:
    r = api.post("/definitions/validate", "manager1", content=raw, headers=XML)
    assert r.status_code == 200, r.text
    return r.json()


def ids_of(raw: bytes) -> set[str]:
    try:
        tree = etree.fromstring(raw, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return set()
    return {el.get("id") for el in tree.iter(etree.Element) if el.get("id")}


def test_every_problem_of_every_fixture_is_located_and_reads_without_python_internals(api):
    assert len(MIWG) >= 5 and len(ALL) > len(MIWG)
    wrong = []
    for path in ALL:
        raw = path.read_bytes()
        ids = ids_of(raw)
        for p in validate(api, raw)["problems"]:
            where = f"{path.relative_to(FIXTURES)}: {p}"
            if p["scope"] == "element":
                if p["element_id"] not in ids:
                    wrong.append(f"names no element of the document: {where}")
            elif p["scope"] != "document" or p["element_id"] is not None or p["code"] not in DOCUMENT_CODES:
                wrong.append(f"neither located nor about the whole document: {where}")
            if REPR.search(p["message"]) or "None" in p["message"]:
                wrong.append(f"Python internals in the message: {where}")
    assert wrong == []


@pytest.mark.parametrize("path", MIWG, ids=lambda p: p.name)
def test_a_descriptive_reference_model_is_told_it_is_not_executable(api, path):
    raw = path.read_bytes()
    codes = [p["code"] for p in validate(api, raw)["problems"]]
    executable = b'isExecutable="true"' in raw
    assert ("process.not_executable" in codes) != executable


def test_a_document_lists_every_problem_at_once(api):
    problems = validate(api, (FIXTURES / "miwg" / "C.1.0.bpmn").read_bytes())["problems"]
    found = {(p["element_id"], p["code"], p.get("attribute")) for p in problems}
    assert found == {
        # the Camunda settings of the executable pool that canbao cannot run, named precisely
        ("StartEvent_1", "import.unmapped", "camunda:formKey"),
        ("approveInvoice", "import.unmapped", "camunda:assignee"),
        ("assignApprover", "import.unmapped", "camunda:assignee"),
        ("reviewInvoice", "import.unmapped", "camunda:assignee"),
        ("archiveInvoice", "import.unmapped", "camunda:field"),
        # what its translated properties mean to canbao
        ("approveInvoice", "form.unknown", "camunda:formKey"),
        ("assignApprover", "form.unknown", "camunda:formKey"),
        ("reviewInvoice", "form.unknown", "camunda:formKey"),
        ("prepareBankTransfer", "form.unknown", "camunda:formKey"),
        ("approveInvoice", "lane.unknown_role", None),
        ("assignApprover", "lane.unknown_role", None),
        ("reviewInvoice", "lane.unknown_role", None),
        ("prepareBankTransfer", "role.unknown", "camunda:candidateGroups"),
        ("archiveInvoice", "operation.missing", "camunda:delegateExpression"),
        ("DataStoreReference_1", "data_store.unsupported", None),
    }
    # its four JUEL conditions translate; none of them is a problem
    assert not {p for p in found if p[0] in {"invoiceApproved", "invoiceNotApproved"}}


def test_utf16_and_gbk_documents_validate_and_deploy(api):
    for name, key in [
        ("utf16_review.bpmn", "review_utf16"),
        ("gbk_review.bpmn", "review_gbk"),
        ("gb2312_review.bpmn", "review_gb2312"),
    ]:
        raw = (FIXTURES / "encodings" / name).read_bytes()
        assert validate(api, raw) == {"valid": True, "problems": [], "imported": None}, name
        r = api.post("/definitions", "manager1", content=raw, headers=XML)
        assert r.status_code == 201, r.text
        xml = api.client.get(f"/api/v1/definitions/{key}/versions/1/xml", headers=api.as_("manager1")).text
        assert 'name="审核（经办人：张三' in xml and "核对申请人填写的参保信息" in xml
        assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')


def _deploy(api, path) -> dict:
    r = api.post("/definitions?comment=导入", "manager1", content=path.read_bytes(), headers=XML)
    assert r.status_code == 201, r.text
    return r.json()


def _change(person: str) -> dict:
    return {
        "id_number": person,
        "changes": [{"field": "/phone", "old": "13805310000", "new": "13905319999"}],
        "reason": "本人更换了手机号码",
        "evidence": [],
    }


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("camunda7_change_review.bpmn", "change_review_c7"),
        ("flowable_change_review.bpmn", "change_review_flowable"),
    ],
)
def test_a_camunda_or_flowable_model_deploys_and_routes_cases_as_its_juel_meant(api, name, key):
    deployed = _deploy(api, DIALECTS / name)
    mapped = {(m["element_id"], m["attribute"], m["to"]) for m in deployed["imported"]["mapped"]}
    prefix = "camunda" if "camunda" in name else "flowable"
    assert {
        ("collect", f"{prefix}:formKey", "formKey=change_request"),
        ("collect", f"{prefix}:candidateGroups", "role=platform_reviewer"),
        ("collect", f"{prefix}:dueDate", "dueIn=P5D"),
        ("review", f"{prefix}:dueDate", "dueIn=P3D"),
        ("final", f"{prefix}:candidateGroups", "role=county_approver"),
        ("final", f"{prefix}:dueDate", "dueIn=PT48H"),
        ("review_late", "timeDuration", "'P10D'"),
    } <= mapped
    ignored = {(m["element_id"], m["attribute"]) for m in deployed["imported"]["ignored"]}
    assert ("review", f"{prefix}:priority") in ignored
    xml = api.client.get(f"/api/v1/definitions/{key}/versions/1/xml", headers=api.as_("manager1")).text
    assert "${" not in xml and "#{" not in xml and f"{prefix}:" not in xml
    assert '<spiffworkflow:property name="role" value="county_approver"/>' in xml

    office = Office(api.db)
    routes = [
        ([APPROVE], [APPROVE], "已变更"),  # approved at both levels
        ([RETURN, APPROVE], [REJECT], "不予变更"),  # returned for correction, then refused by the county
        ([REJECT], [], "不予变更"),  # refused at the first review
    ]
    for seq, (reviews, finals, outcome) in enumerate(routes, start=1):
        person = id_number(seq=f"2{seq}1")
        case_id = office.start(key, person=person, team_id=None)
        for review in reviews:
            collect = office.task(case_id, "collect")
            assert (collect.role, collect.form_key) == ("platform_reviewer", "change_request")
            assert (collect.due_at - collect.created_at).days == 5
            office.complete(PLATFORM1, case_id, "collect", _change(person))
            assert office.task(case_id, "review").role == "platform_reviewer"
            office.complete(PLATFORM2, case_id, "review", review)
        for decision in finals:
            task = office.task(case_id, "final")
            assert (task.role, task.form_key) == ("county_approver", "review_decision")
            assert (task.due_at - task.created_at).total_seconds() == 48 * 3600
            office.complete(COUNTY1, case_id, "final", decision)
        case = office.case(case_id)
        assert (case.status, case.outcome) == ("completed", outcome), (reviews, finals)


def test_what_cannot_be_mapped_is_listed_with_element_attribute_and_reason(api):
    raw = (DIALECTS / "camunda7_unmappable.bpmn").read_bytes()
    body = validate(api, raw)
    assert body["valid"] is False
    found = {(p["element_id"], p["code"], p.get("attribute")) for p in body["problems"]}
    assert found == {
        ("start", "import.unmapped", "camunda:formKey"),
        ("apply_check", "import.unmapped", "camunda:assignee"),
        ("apply_check", "import.unmapped", "camunda:candidateUsers"),
        ("apply_check", "import.unmapped", "camunda:taskListener"),
        ("apply_check", "form.unknown", "camunda:formKey"),
        ("apply_check", "lane.unknown_role", None),
        ("joint_review", "import.unmapped", "camunda:candidateGroups"),
        ("joint_review", "import.unmapped", "camunda:dueDate"),
        ("joint_review", "lane.unknown_role", None),
        ("accounting", "import.unmapped", "camunda:dueDate"),
        ("accounting", "import.unmapped", "camunda:inputOutput"),
        ("accounting", "role.unknown", "camunda:candidateGroups"),
        ("risk", "import.unmapped", "camunda:resultVariable"),
        ("risk", "dmn.decision_missing", "camunda:decisionRef"),
        ("priority", "dmn.decision_unnamed", None),
        ("tally", "import.unmapped", "scriptFormat"),
        ("f_method", "import.unmapped", "conditionExpression"),
        ("f_arith", "import.unmapped", "conditionExpression"),
        ("f_script", "import.unmapped", "conditionExpression"),
        ("f_text", "import.unmapped", "conditionExpression"),
        ("notify", "operation.missing", "camunda:class"),
    }
    by = {(p["element_id"], p.get("attribute")): p["message"] for p in body["problems"]}
    assert "${initiator}" in by[("apply_check", "camunda:assignee")]
    assert "岗位" in by[("apply_check", "camunda:assignee")]
    assert "execution.getVariable" in by[("f_method", "conditionExpression")]
    assert "算术" in by[("f_arith", "conditionExpression")]
    assert "groovy" in by[("f_script", "conditionExpression")]
    assert "accounting" in by[("accounting", "camunda:candidateGroups")]
    assert "embedded:app:forms/apply.html" in by[("apply_check", "camunda:formKey")]
    mapped = {(m["element_id"], m["attribute"]) for m in body["imported"]["mapped"]}
    assert ("f_ok", "conditionExpression") in mapped  # the one condition JUEL can say and canbao can run
    r = api.post("/definitions", "manager1", content=raw, headers=XML)
    assert r.status_code == 422 and {p["code"] for p in r.json()["problems"]} >= {"import.unmapped"}


def test_a_camunda_8_model_maps_its_user_task_and_names_the_feel_condition_it_cannot_translate(api):
    body = validate(api, (DIALECTS / "camunda8_change_review.bpmn").read_bytes())

    assert [(p["element_id"], p["code"], p["attribute"]) for p in body["problems"]] == [
        ("Flow_approve", "import.unmapped", "conditionExpression")
    ]
    assert "FEEL" in body["problems"][0]["message"]
    assert {(m["attribute"], m["to"]) for m in body["imported"]["mapped"]} == {
        ("zeebe:formDefinition formKey", "formKey=review_decision"),
        ("zeebe:assignmentDefinition candidateGroups", "role=platform_reviewer"),
        ("zeebe:taskSchedule dueDate", "dueIn=P3D"),
        ("zeebe:properties dataKey", "dataKey=review"),
        ("zeebe:properties decisions", "decisions=approve,reject"),
    }
    assert body["imported"]["engines"] == ["Camunda 8", "Camunda Modeler"]


def test_a_descriptive_model_with_schema_errors_gets_each_of_them_and_is_told_it_is_not_executable(api):
    raw = (FIXTURES / "miwg" / "A.1.0-roundtrip.bpmn").read_bytes()
    raw = raw.replace(b'name="Task 1">', b'name="Task 1" priority="high">')
    raw = raw.replace(b'<semantic:endEvent id="_a47df184', b'<semantic:endEvent step="9" id="_a47df184')

    problems = validate(api, raw)["problems"]

    assert [(p["element_id"], p["code"]) for p in problems] == [
        ("_ec59e164-68b4-4f94-98de-ffb1c58a84af", "xml.schema"),
        ("_a47df184-085b-49f7-bb82-031c84625821", "xml.schema"),
        (None, "process.not_executable"),
    ]
    assert "priority" in problems[0]["message"] and "step" in problems[1]["message"]
