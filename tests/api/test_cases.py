"""Cases and persons over HTTP: who may start, list and read them, masking, and the audit of reads."""

from __future__ import annotations

import pytest

from forms.idnumber import check_char
from registry import persons

from ..engine.office import VILLAGE, id_number, registration
from .conftest import SYSTEM

OTHER_VILLAGE = "370103002001"  # 纬一路社区, 市中区


@pytest.fixture
def registered(api) -> str:
    """A person in the registry, managed by 历下区 解放桥社区."""
    number = id_number(seq="555")
    with api.db.sessions() as s, s.begin():
        persons.store(
            s, actor=SYSTEM, case_id=0, case_area=VILLAGE, person_id=number, registration=registration(number)
        )
    return number


@pytest.fixture
def elsewhere(api) -> str:
    """A person managed by 市中区."""
    body = "37010319850505123"
    number = body + check_char(body)
    place = {"division": OTHER_VILLAGE, "address": "济南市市中区纬一路1号"}
    reg = registration(number, hukou={**place, "nature": "10"}, residence=place)
    with api.db.sessions() as s, s.begin():
        persons.store(s, actor=SYSTEM, case_id=0, case_area=OTHER_VILLAGE, person_id=number, registration=reg)
    return number


def test_start_case_checks_role_process_area_and_team(api, registered):
    ok = api.post("/cases", "platform1", json={"process": "survey_registration", "person_id": registered})
    assert ok.status_code == 201, ok.text
    case = ok.json()
    assert case["area"] == VILLAGE and case["person_name"] == "张三" and case["status"] == "running"
    prefill = [e for e in api.events("person.read") if e.payload_json.get("purpose") == "prefill"]
    assert [(e.actor_sub, e.person_id) for e in prefill] == [("platform1", registered)]
    wrong_role = api.post("/cases", "surveyor1", json={"process": "survey_registration", "area": VILLAGE})
    assert wrong_role.status_code == 403 and wrong_role.json()["reason"] == "process_role"
    unknown = api.post("/cases", "platform1", json={"process": "no_such_process", "area": VILLAGE})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["code"] == "process.unknown"
    outside = api.post("/cases", "platform1", json={"process": "survey_registration", "area": OTHER_VILLAGE})
    assert outside.status_code == 403 and outside.json()["reason"] == "area"
    bad_team = api.post(
        "/cases", "platform1", json={"process": "survey_registration", "area": VILLAGE, "team_id": 99}
    )
    assert bad_team.status_code == 422 and bad_team.json()["errors"][0]["pointer"] == "/team_id"
    by_city = api.post("/cases", "city1", json={"process": "survey_registration", "area": VILLAGE})
    assert by_city.status_code == 403 and by_city.json()["code"] == "auth.role_not_allowed"


def test_starting_a_case_for_a_person_registered_elsewhere_reveals_nothing(api, elsewhere):
    """A case is its person's from the start only for a person the starter reaches (design §2); for any
    other number — not registered, or managed and busy in another county — the case is nobody's until
    its first accepted 登记表, alike. (Found: a 409 on another county's person revealed that it exists
    and has an open case.)"""
    busy = api.client.post(
        "/api/v1/cases",
        headers=api.mint("counter8", ["counter_clerk"], "370103002"),
        json={"process": "counter_collection", "person_id": elsewhere},
    )
    assert busy.status_code == 201 and busy.json()["person_id"] == elsewhere
    shown = ("status", "person_id", "person_name", "area", "process")
    for process, starter in (("survey_registration", "platform1"), ("counter_collection", "counter1")):
        body = {"process": process, "area": VILLAGE}
        unknown = api.post("/cases", starter, json={**body, "person_id": id_number(seq="998")})
        hidden = api.post("/cases", starter, json={**body, "person_id": elsewhere})
        assert hidden.status_code == unknown.status_code == 201
        assert [hidden.json()[k] for k in shown] == [unknown.json()[k] for k in shown]
        assert hidden.json()["person_id"] is None
    without_area = api.post(
        "/cases", "counter1", json={"process": "counter_collection", "person_id": elsewhere}
    )
    assert without_area.status_code == 422 and without_area.json()["errors"][0]["pointer"] == "/area"
    assert [e for e in api.events("person.read") if e.actor_sub in ("platform1", "counter1")] == []


def test_start_case_names_every_bad_field(api):
    r = api.post(
        "/cases", "platform1", json={"process": "", "person_id": "1" * 30, "area": "37x", "team_id": 0}
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "validation_failed" and body["status"] == 422
    assert {e["pointer"] for e in body["errors"]} == {"/process", "/person_id", "/area", "/team_id"}
    assert all(e["code"].startswith("body.") and e["message"] for e in body["errors"])
    bad_number = api.post(
        "/cases", "platform1", json={"process": "survey_registration", "person_id": "370102199001011230"}
    )
    assert bad_number.status_code == 422 and bad_number.json()["errors"][0]["pointer"] == "/person_id"
    not_object = api.post("/cases", "platform1", json=["survey_registration"])
    assert not_object.status_code == 422


def test_cases_are_listed_and_read_only_within_the_area(api, registered):
    case_id = api.start_survey(registered)
    listed = api.get("/cases", "county1").json()
    assert [c["id"] for c in listed["items"]] == [case_id] and listed["next"] is None
    assert api.get("/cases", "platform9").json()["items"] == []
    assert api.get(f"/cases/{case_id}", "platform9").status_code == 404
    assert api.get(f"/cases/{case_id}/history", "platform9").status_code == 404
    assert api.get(f"/cases/{case_id}/diagram", "platform9").status_code == 404
    assert api.get("/cases/999999", "county1").status_code == 404
    missing = api.get(f"/cases/{case_id}", "platform9").json()
    assert missing == api.get("/cases/999999", "platform9").json()  # indistinguishable from absent
    assert api.get("/cases", "county1", params={"status": "done"}).status_code == 422


def test_case_reads_are_audited_and_masked_for_oversight(api, registered):
    case_id = api.start_survey(registered)
    api.complete("surveyor1", case_id, registration(registered, phone="13905310001"))
    staff = api.get(f"/cases/{case_id}", "platform1").json()
    assert staff["person_id"] == registered and staff["data"]["registration"]["phone"] == "13905310001"
    auditor = api.get(f"/cases/{case_id}", "auditor1").json()
    assert auditor["person_id"] == registered[:6] + "********" + registered[-4:]
    assert auditor["data"]["registration"]["phone"] == "139****0001"
    history = api.get(f"/cases/{case_id}/history", "auditor1").json()
    submitted = next(e for e in history if e["action"] == "task.complete")
    assert submitted["payload"]["data"]["id_number"] == auditor["person_id"]
    assert submitted["payload"]["data"]["phone"] == "139****0001"
    reads = [
        (e.actor_sub, e.payload_json["purpose"]) for e in api.events("person.read") if e.case_id == case_id
    ]
    assert ("platform1", "case_view") in reads and ("auditor1", "case_view") in reads
    assert ("auditor1", "case_history") in reads
    listed = len(api.events("person.read"))
    api.get("/cases", "city1")
    assert [e.person_id for e in api.events("person.read")[listed:]] == [registered]


def test_diagram_has_the_xml_and_the_path(api, registered):
    case_id = api.start_survey(registered)
    api.complete("surveyor1", case_id, registration(registered))
    d = api.get(f"/cases/{case_id}/diagram", "auditor1").json()
    assert d["xml"].startswith("<?xml") and "survey" in d["completed"] and "initial_review" in d["active"]


def test_citizen_sees_only_their_own_cases_and_record(api, registered, elsewhere):
    other_case = api.start_survey(registered)
    citizen = api.mint(elsewhere, ["citizen"], "")
    own = api.client.post(
        "/api/v1/cases", headers=citizen, json={"process": "self_service_update", "person_id": registered}
    )
    assert own.status_code == 201, own.text
    assert own.json()["person_id"] == elsewhere  # the token decides whose case it is, not the body
    listed = api.client.get("/api/v1/cases", headers=citizen).json()["items"]
    assert [c["id"] for c in listed] == [own.json()["id"]]
    assert api.client.get(f"/api/v1/cases/{other_case}", headers=citizen).status_code == 404
    assert api.client.get(f"/api/v1/cases/{other_case}/history", headers=citizen).status_code == 404
    assert api.client.get(f"/api/v1/persons/{elsewhere}", headers=citizen).status_code == 200
    assert api.client.get(f"/api/v1/persons/{registered}", headers=citizen).status_code == 404
    inbox = api.client.get("/api/v1/tasks", headers=citizen).json()["items"]
    assert [t["task"] for t in inbox] == ["submit"] and inbox[0]["person_id"] == elsewhere


def test_person_record_is_masked_by_role_and_every_read_is_audited(api, registered):
    staff = api.get(f"/persons/{registered}", "county1")
    assert staff.status_code == 200 and staff.json()["id_number"] == registered
    assert staff.json()["phone"] == "13805310000"
    oversight = api.get(f"/persons/{registered}", "city1").json()
    assert oversight["id_number"] == registered[:6] + "********" + registered[-4:]
    assert oversight["phone"] == "138****0000" and oversight["name"] == "张三"
    missing = api.get(f"/persons/{registered}/missing", "platform1")
    assert missing.status_code == 200 and missing.json()["person_id"] == registered
    assert "items" in missing.json() and "flags" in missing.json()
    reads = [(e.actor_sub, e.person_id, e.payload_json["purpose"]) for e in api.events("person.read")]
    assert reads == [
        ("county1", registered, "GET /persons/{id}"),
        ("city1", registered, "GET /persons/{id}"),
        ("platform1", registered, "missing"),
    ]


def test_persons_outside_the_area_are_not_found(api, registered, elsewhere):
    assert api.get(f"/persons/{elsewhere}", "county1").status_code == 404
    assert api.get(f"/persons/{elsewhere}/missing", "platform1").status_code == 404
    absent = api.get(f"/persons/{id_number(seq='999')}", "county1")
    outside = api.get(f"/persons/{elsewhere}", "county1")
    assert absent.json()["code"] == outside.json()["code"] == "registry.person_not_found"
    assert api.get(f"/persons/{elsewhere}", "platform9").status_code == 404  # 市中区 but another street
    city_admin = api.mint("city9", ["city_admin"], "3701")
    assert api.client.get(f"/api/v1/persons/{elsewhere}", headers=city_admin).status_code == 200
    assert not [e for e in api.events("person.read") if e.actor_sub in ("county1", "platform1", "platform9")]
    bad = api.get("/persons/370102199001011230", "county1")
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/path/id_number"
    assert api.get("/persons/12", "county1").status_code == 422


def test_persons_need_a_role_that_reads_them(api, registered):
    r = api.get(f"/persons/{registered}", "manager1")
    assert r.status_code == 403 and r.json()["operation"] == "persons.read"
