"""The definitions API as a process manager uses it: versions, diff, DMN uploads and migrations."""

import forms
from canbao.actors import ROLES
from engine import cases, operations
from engine.models import Case

from ..engine import samples
from ..engine.office import APPROVE, PLATFORM1, VILLAGE, id_number, registration
from . import variants
from .variants import FIXTURES

XML = {"Content-Type": "application/xml"}


def deploy(api, xml: str, *, publish: bool = True, status: int = 201) -> dict:
    r = api.post(
        f"/definitions?publish={str(publish).lower()}&comment=测试",
        "manager1",
        content=xml.encode(),
        headers=XML,
    )
    assert r.status_code == status, r.text
    return r.json()


def versions(api) -> dict[int, dict]:
    r = api.get("/definitions/survey_registration/versions", "manager1")
    assert r.status_code == 200, r.text
    return {v["version"]: v for v in r.json()}


def test_versions_are_published_retired_and_deleted_only_while_unused(api):
    draft = deploy(api, variants.with_precheck(), publish=False)
    assert (draft["version"], draft["created"], draft["published_at"], draft["deployed_by"]) == (
        2,
        True,
        None,
        "manager1",
    )
    assert deploy(api, variants.with_precheck(), status=200)["created"] is False
    assert [v["current"] for v in versions(api).values()] == [True, False]

    assert api.post("/definitions/survey_registration/versions/2/publish", "manager1").status_code == 200
    case_on_v2 = api.start_survey(id_number())
    assert api.task_of(case_on_v2).spec_name == "survey"
    with api.db.sessions() as s:
        assert s.get(Case, case_on_v2).definition_id == draft["id"]
    listed = versions(api)
    assert (listed[2]["current"], listed[2]["cases"]) == (True, {"open": 1, "completed": 0})

    assert api.post("/definitions/survey_registration/versions/2/retire", "manager1").status_code == 200
    assert versions(api)[1]["current"] is True
    refused = api.delete("/definitions/survey_registration/versions/2", "manager1")
    assert (refused.status_code, refused.json()["code"]) == (409, "definition.in_use")

    unused = deploy(api, variants.with_final_review_renamed())
    assert (
        api.delete(f"/definitions/survey_registration/versions/{unused['version']}", "manager1").status_code
        == 204
    )
    assert set(versions(api)) == {1, 2}
    assert deploy(api, variants.with_final_review_renamed())["version"] == unused["version"] + 1
    actions = [e.action for e in api.events() if e.object_type == "definition"]
    assert {"definition.publish", "definition.retire", "definition.delete"} <= set(actions)

    forbidden = api.post("/definitions/survey_registration/versions/1/retire", "platform1")
    assert forbidden.status_code == 403


def test_diff_names_added_removed_and_changed_elements(api):
    deploy(api, variants.with_precheck(variants.with_final_review_renamed()))

    r = api.get("/definitions/survey_registration/versions/1/diff/2", "auditor1")

    assert r.status_code == 200, r.text
    body = r.json()
    assert [(e["id"], e["name"], e["type"]) for e in body["added"]] == [
        ("precheck", "材料预审", "userTask"),
        ("f_precheck", None, "sequenceFlow"),
    ]
    assert body["removed"] == []
    changed = {e["id"]: e for e in body["changed"]}
    assert changed["f_survey"]["changes"] == [
        {"field": "@targetRef", "from": "initial_review", "to": "precheck"}
    ]
    assert changed["final_review"]["changes"] == [
        {"field": "name", "from": "县级审定", "to": "县级审定（复核）"}
    ]
    reverse = api.get("/definitions/survey_registration/versions/2/diff/1", "auditor1").json()
    assert [e["id"] for e in reverse["removed"]] == ["precheck", "f_precheck"]
    assert api.get("/definitions/survey_registration/versions/1/diff/9", "auditor1").status_code == 404


def test_diff_compares_meaning_with_defaults_normalized(api):
    same = deploy(api, variants.with_defaults_spelled_out())
    assert same["version"] == 2

    body = api.get("/definitions/survey_registration/versions/1/diff/2", "manager1").json()

    assert (body["added"], body["removed"], body["changed"]) == ([], [], [])
    changed = variants.with_defaults_spelled_out().replace(' startQuantity="1"', ' startQuantity="2"')
    deploy(api, changed)
    body = api.get("/definitions/survey_registration/versions/1/diff/3", "manager1").json()
    assert [(c["id"], c["changes"]) for c in body["changed"]] == [
        ("survey", [{"field": "@startQuantity", "from": "1", "to": "2"}])
    ]


def test_versions_of_a_process_in_every_state_carry_the_current_flag_and_case_counts(api):
    draft = samples.process(samples.user_task(), key="draft_only")
    deploy(api, draft, publish=False)
    for version in (1,):
        api.post(f"/definitions/change_approval/versions/{version}/retire", "manager1")

    for key, state in [
        ("draft_only", None),
        ("change_approval", "retired"),
        ("survey_registration", "current"),
    ]:
        r = api.get(f"/definitions/{key}/versions", "manager1")
        assert r.status_code == 200, r.text
        [v] = r.json()
        assert v["cases"] == {"open": 0, "completed": 0}, key
        assert v["current"] is (state == "current"), key
        assert (v["published_at"] is None) is (state is None), key
        assert (v["retired_at"] is not None) is (state == "retired"), key
        one = api.get(f"/definitions/{key}/versions/1", "manager1").json()
        assert (one["current"], one["cases"]) == (v["current"], v["cases"])


def test_bpmn_with_its_dmn_file_validates_and_deploys_as_multipart(api):
    bpmn = (FIXTURES / "dmn" / "prioritised_review.bpmn").read_bytes()
    dmn = (FIXTURES / "dmn" / "prioritised_review" / "review_priority.dmn").read_bytes()
    files = [("files", ("prioritised_review.bpmn", bpmn)), ("files", ("review_priority.dmn", dmn))]

    alone = api.post("/definitions/validate", "manager1", files=files[:1]).json()
    assert alone["problems"][0]["element_id"] == "decide_priority"
    assert alone["problems"][0]["code"] == "dmn.decision_missing"
    assert api.post("/definitions/validate", "manager1", files=files).json() == {
        "valid": True,
        "problems": [],
        "imported": None,
    }
    unsafe = dmn.replace(b'"high"', b"().__class__")
    problems = api.post(
        "/definitions/validate", "manager1", files=[files[0], ("files", ("review_priority.dmn", unsafe))]
    ).json()["problems"]
    assert [(p["element_id"], p["code"]) for p in problems] == [("Rule_high", "dmn.output_unsafe")]

    r = api.post("/definitions", "manager1", files=files, data={"comment": "附决策表"})
    assert r.status_code == 201, r.text
    assert (r.json()["dmn"], r.json()["comment"]) == (["review_priority.dmn"], "附决策表")
    with api.db.sessions() as s, s.begin():
        case = cases.start(s, actor=PLATFORM1, process_key="prioritised_review", area=VILLAGE)
        assert cases.case_data(s, case=case)["priority"] == "normal"


def test_uploads_that_are_not_one_utf8_bpmn_are_refused_with_a_reason(api):
    gbk = "<bpmn:definitions 名称='测试'/>".encode("gbk")
    r = api.post("/definitions/validate", "manager1", content=gbk, headers=XML).json()
    assert [p["code"] for p in r["problems"]] == ["xml.encoding"]
    two = [("files", ("a.bpmn", b"<a/>")), ("files", ("b.bpmn", b"<b/>"))]
    r = api.post("/definitions/validate", "manager1", files=two)
    assert (r.status_code, r.json()["errors"][0]["code"]) == (422, "definition.bpmn_count")
    r = api.post("/definitions/validate", "manager1", json={"xml": "<a/>"})
    assert r.status_code == 415
    r = api.post("/definitions", "manager1", content=gbk, headers=XML)
    assert (r.status_code, r.json()["problems"][0]["code"]) == (422, "xml.encoding")


def test_migration_dry_run_then_migration_report_per_case(api):
    waiting, past = id_number(seq="123"), id_number(seq="124")
    waiting_case, past_case = api.start_survey(waiting), api.start_survey(past)
    api.complete("surveyor1", past_case, registration(past))
    deploy(api, variants.with_precheck())

    r = api.post(
        "/definitions/survey_registration/migrations", "manager1", json={"from": 1, "to": 2, "dry_run": True}
    )
    assert r.status_code == 202, r.text
    progress = api.get(r.headers["Location"].removeprefix("/api/v1"), "manager1").json()
    assert (progress["status"], progress["total"], progress["done"]) == ("done", 2, 2)
    assert {i["case_id"]: i["outcome"] for i in progress["items"]} == {
        waiting_case: "movable",
        past_case: "refused",
    }
    assert api.task_of(waiting_case).spec_name == "survey"

    r = api.post(
        "/definitions/survey_registration/migrations", "manager1", json={"from": 1, "to": 2, "dry_run": False}
    )
    job = api.get(r.headers["Location"].removeprefix("/api/v1"), "manager1").json()
    assert job["counts"] | {} == {
        "pending": 0,
        "migrated": 1,
        "movable": 0,
        "refused": 1,
        "skipped": 0,
        "failed": 0,
    }
    refused = api.get(
        f"/definitions/survey_registration/migrations/{job['id']}?outcome=refused", "manager1"
    ).json()["items"]
    assert refused[0]["case_id"] == past_case and "survey" in refused[0]["reason"]
    api.complete("surveyor1", waiting_case, registration(waiting))
    api.complete("platform1", waiting_case, APPROVE)
    assert api.task_of(waiting_case).spec_name == "initial_review"
    assert [j["id"] for j in api.get("/definitions/survey_registration/migrations", "manager1").json()] == [
        job["id"],
        job["id"] - 1,
    ]
    [moved] = api.events("case.migrate")
    assert (moved.case_id, moved.payload.count('"to":2')) == (waiting_case, 1)


def test_bad_migration_requests_name_each_field(api):
    deploy(api, variants.with_precheck())
    api.post("/definitions/survey_registration/versions/2/retire", "manager1")
    r = api.post(
        "/definitions/survey_registration/migrations", "manager1", json={"from": 7, "to": 2, "dry_run": False}
    )
    assert r.status_code == 422
    assert {(e["pointer"], e["code"]) for e in r.json()["errors"]} == {
        ("/from", "migration.unknown_version"),
        ("/to", "migration.target_retired"),
    }
    r = api.post("/definitions/survey_registration/migrations", "manager1", json={"from": 1, "to": 1})
    assert {e["pointer"] for e in r.json()["errors"]} == {"/dry_run"}
    r = api.post("/definitions/no_such/migrations", "manager1", json={"from": 1, "to": 2, "dry_run": True})
    assert r.status_code == 404
    assert api.get("/definitions/survey_registration/migrations/999", "manager1").status_code == 404
    r = api.post(
        "/definitions/survey_registration/migrations", "platform1", json={"from": 1, "to": 2, "dry_run": True}
    )
    assert r.status_code == 403


def test_vocabulary_names_what_the_properties_panel_offers(api):
    """The modeler's properties panel offers the forms, roles, whitelisted operations, duties and grants
    that validation accepts, each with its Chinese title."""
    body = api.get("/definitions/vocabulary", "manager1").json()
    assert {"key": "registration", "title": forms.get("registration")["title"]} in body["forms"]
    assert {r["key"]: r["title"] for r in body["roles"]} == ROLES
    assert {"key": "citizen", "title": ROLES["citizen"], "former_names": ["参保人"]} in body["roles"]
    assert {"key": "registry.store", "title": "入库"} in body["operations"]
    assert [o["key"] for o in body["operations"]] == operations.names()
    assert {"key": "check", "title": "录入校核", "role": "counter_clerk"} in body["duties"]
    assert {a["key"] for a in body["authorizations"]} == {"survey", "change"}
    assert [d["key"] for d in body["decisions"]] == ["approve", "return", "reject"]
