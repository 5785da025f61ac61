"""Every route of the API core: refused without a token, refused for a role it does not serve (403 with
the reason), and answered for the roles it does; bodies capped; errors always problem+json."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from api.app import MAX_JSON_BODY
from api.routers import auth, authorizations, cases, definitions, forms, persons, tasks
from canbao.config import PROJECT_ROOT
from canbao.db import utcnow

from ..engine.office import id_number, registration

TASK = "00000000-0000-4000-8000-000000000001"
PERSON = id_number(seq="777")

# (method, path, a user whose role the route does not serve, the operation refused)
WRONG_ROLE = [
    ("GET", "/tasks", "auditor1", "tasks.read"),
    ("GET", "/tasks/counts", "city1", "tasks.read"),
    ("GET", f"/tasks/{TASK}", "manager1", "tasks.read"),
    ("POST", f"/tasks/{TASK}/claim", "auditor1", "tasks.work"),
    ("POST", f"/tasks/{TASK}/unclaim", "city1", "tasks.work"),
    ("POST", f"/tasks/{TASK}/assign", "surveyor1", "tasks.assign"),
    ("POST", f"/tasks/{TASK}/complete", "auditor1", "tasks.work"),
    ("POST", f"/tasks/{TASK}/return", "manager1", "tasks.work"),
    ("POST", "/cases", "auditor1", "cases.start"),
    ("GET", "/cases", "manager1", "cases.read"),
    ("GET", "/cases/1", "manager1", "cases.read"),
    ("GET", "/cases/1/history", "manager1", "cases.read"),
    ("GET", "/cases/1/diagram", "manager1", "cases.read"),
    ("GET", "/persons", "manager1", "persons.read"),
    ("GET", f"/persons/{PERSON}", "manager1", "persons.read"),
    ("GET", f"/persons/{PERSON}/missing", "manager1", "persons.read"),
    ("POST", "/definitions", "county1", "definitions.write"),
    ("POST", "/definitions/validate", "platform1", "definitions.write"),
    ("POST", "/authorizations", "county1", "authorizations.write"),
    ("DELETE", "/authorizations/1", "county1", "authorizations.write"),
    ("GET", "/authorizations", "surveyor1", "authorizations.read"),
]

CITIZEN_REFUSED = [
    ("GET", "/definitions", "definitions.read"),
    ("GET", "/definitions/vocabulary", "definitions.read"),
    ("GET", "/definitions/survey_registration/versions", "definitions.read"),
    ("GET", "/definitions/survey_registration/versions/1/xml", "definitions.read"),
]

BODIES = {
    f"/tasks/{TASK}/assign": {"assignee": "surveyor2"},
    f"/tasks/{TASK}/complete": {"decision": "approve"},
    f"/tasks/{TASK}/return": {"reason": "请补充"},
    "/cases": {"process": "survey_registration", "area": "370102001002"},
    "/authorizations": {"kind": "survey", "county": "370102", "valid_from": "2026-01-01T00:00:00+08:00"},
}


def _core_routes():
    for module in (auth, tasks, cases, persons, forms, definitions, authorizations):
        for route in module.router.routes:
            for method in route.methods:
                yield method, route.path


@pytest.mark.parametrize(("method", "path", "user", "operation"), WRONG_ROLE)
def test_wrong_role_is_refused_with_the_reason(api, method, path, user, operation):
    r = api.client.request(
        method, f"/api/v1{path}", headers={**api.as_(user), "If-Match": "1"}, json=BODIES.get(path)
    )
    assert r.status_code == 403, r.text
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["code"] == "auth.role_not_allowed" and body["reason"] == "role"
    assert body["operation"] == operation and "无权" in body["detail"]


@pytest.mark.parametrize(("method", "path", "operation"), CITIZEN_REFUSED)
def test_citizens_do_not_read_definitions(api, method, path, operation):
    r = api.client.request(method, f"/api/v1{path}", headers=api.mint("110101199003077777", ["citizen"], ""))
    assert r.status_code == 403 and r.json()["operation"] == operation


def test_every_core_route_but_login_needs_a_token(api):
    checked = 0
    for method, template in sorted(set(_core_routes())):
        if template == "/auth/token":
            continue
        path = (
            template.replace("{task_id}", TASK)
            .replace("{case_id}", "1")
            .replace("{id_number}", PERSON)
            .replace("{authorization_id}", "1")
            .replace("{key}", "survey_registration")
            .replace("{version}", "1")
            .replace("{a}", "1")
            .replace("{b}", "2")
            .replace("{job_id}", "1")
        )
        r = api.client.request(method, f"/api/v1{path}", json=BODIES.get(template))
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.json()["code"] == "auth.invalid_token"
        checked += 1
    assert checked >= 25


def test_cookie_sessions_need_the_csrf_header_to_change_anything(api):
    token = api.token("platform1")
    api.client.cookies.set("canbao_token", token)
    api.client.cookies.set("canbao_csrf", "csrf-value-1")
    try:
        assert api.client.get("/api/v1/me").status_code == 200
        body = {"process": "survey_registration", "area": "370102001002"}
        refused = api.client.post("/api/v1/cases", json=body)
        assert refused.status_code == 403 and refused.json()["reason"] == "csrf"
        allowed = api.client.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": "csrf-value-1"})
        assert allowed.status_code == 201, allowed.text
    finally:
        api.client.cookies.clear()


def test_oversize_bodies_are_refused_before_they_are_read(api):
    big = {"process": "survey_registration", "area": "370102001002", "pad": "x" * (MAX_JSON_BODY + 10)}
    declared = api.post("/cases", "platform1", json=big)
    assert declared.status_code == 413 and declared.json()["code"] == "too_large"

    def chunks():
        for _ in range(MAX_JSON_BODY // 65536 + 2):
            yield b" " * 65536

    streamed = api.client.post(
        "/api/v1/cases",
        content=chunks(),
        headers={**api.as_("platform1"), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413 and streamed.headers["content-type"] == "application/problem+json"
    assert api.get("/cases", "platform1").json()["items"] == []


def test_unknown_routes_and_methods_are_problems_too(api):
    missing = api.get("/no-such-thing", "platform1")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong_method = api.client.put("/api/v1/cases", headers=api.as_("platform1"), json={})
    assert wrong_method.status_code == 405 and wrong_method.json()["title"] == "不支持该请求方法"


def test_forms_are_read_by_every_role(api):
    listed = api.get("/forms", "manager1").json()
    keys = {f["key"] for f in listed}
    assert {"registration", "review_decision", "change_request"} <= keys
    schema = api.get("/forms/registration", "surveyor1").json()
    assert schema["type"] == "object" and "id_number" in schema["properties"]
    assert api.get("/forms/no_such_form", "surveyor1").status_code == 404


def test_definitions_are_read_by_staff_and_deployed_by_managers(api):
    listed = api.get("/definitions", "county1").json()
    assert {"survey_registration", "counter_collection", "self_service_update", "change_approval"} <= {
        d["key"] for d in listed
    }
    xml = api.get("/definitions/survey_registration/versions/1/xml", "auditor1")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert api.get("/definitions/nope/versions", "auditor1").status_code == 404
    bpmn = (PROJECT_ROOT / "bpmn" / "survey_registration.bpmn").read_text(encoding="utf-8")
    headers = {**api.as_("manager1"), "Content-Type": "application/xml"}
    valid = api.client.post("/api/v1/definitions/validate", content=bpmn.encode(), headers=headers)
    assert valid.status_code == 200 and valid.json()["valid"] is True
    broken = api.client.post("/api/v1/definitions/validate", content=b"<bpmn:definitions", headers=headers)
    assert broken.status_code == 200 and broken.json()["valid"] is False and broken.json()["problems"]


def test_authorizations_are_granted_and_revoked_by_the_city(api):
    start = (utcnow() - timedelta(hours=1)).isoformat()
    granted = api.post(
        "/authorizations",
        "city1",
        json={"kind": "survey", "county": "370103", "valid_from": start, "note": "试点"},
    )
    assert granted.status_code == 201, granted.text
    auth_id = granted.json()["id"]
    assert {a["county"] for a in api.get("/authorizations", "city1").json()} == {"370102", "370103"}
    granted_here = api.get("/authorizations", "county1").json()  # both kinds (第十九、二十一条)
    assert sorted((a["county"], a["kind"]) for a in granted_here) == [
        ("370102", "change"),
        ("370102", "survey"),
    ]
    other_city = api.mint("city2", ["city_admin"], "3702")
    assert api.client.delete(f"/api/v1/authorizations/{auth_id}", headers=other_city).status_code == 404
    revoked = api.delete(f"/authorizations/{auth_id}", "city1")
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "city1"
    assert [e.action for e in api.events() if e.action.startswith("authorization.")][-2:] == [
        "authorization.grant",
        "authorization.revoke",
    ]
    bad = api.post(
        "/authorizations",
        "city1",
        json={"county": "3702", "valid_from": "yesterday", "valid_to": "2020-01-01", "note": "x" * 600},
    )
    assert bad.status_code == 422
    pointers = {e["pointer"] for e in bad.json()["errors"]}
    assert pointers == {"/kind", "/county", "/valid_from", "/valid_to", "/note"}
    outside = api.post(
        "/authorizations", "city1", json={"kind": "survey", "county": "370203", "valid_from": start}
    )
    assert outside.status_code == 422 and outside.json()["errors"][0]["code"] == "county.outside_city"
    naive = api.post(
        "/authorizations",
        "city1",
        json={"kind": "survey", "county": "370103", "valid_from": "2026-01-01T00:00:00"},
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["pointer"] == "/valid_from"


def test_health_and_docs(api):
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.json()["checks"]["database"] == "ok"
    docs = api.client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = api.client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/tasks", "/api/v1/tasks/counts", "/api/v1/cases", "/api/v1/persons/{id_number}"} <= set(
        spec["paths"]
    )


def test_ids_beyond_64_bits_are_bad_input_not_server_errors(api):
    huge = str(2**63)
    r = api.get(f"/cases/{huge}", "county1")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/path/case_id"
    assert api.delete(f"/authorizations/{huge}", "city1").status_code == 422
    assert api.get("/cases", "county1", params={"before": huge}).status_code == 422
    cursor = base64.urlsafe_b64encode(f"2026-01-01T00:00:00+00:00|{huge}".encode()).decode()
    assert api.get("/tasks", "platform1", params={"after": cursor}).status_code == 422
    team = api.post("/cases", "platform1", json={"process": "survey_registration", "team_id": 2**63})
    assert team.status_code == 422 and team.json()["errors"][0]["pointer"] == "/team_id"


def test_control_characters_are_bad_input_with_the_field_named(api):
    login = api.client.post("/api/v1/auth/token", data={"username": "\x00", "password": "x\x00"})
    assert login.status_code == 422
    assert {e["pointer"] for e in login.json()["errors"]} == {"/username", "/password"}
    assert api.get("/tasks", "platform1", params={"q": "张\x00"}).status_code == 422
    assert api.get("/tasks/%00", "platform1").status_code == 422
    note = api.post(
        "/authorizations",
        "city1",
        json={"kind": "survey", "county": "370103", "valid_from": "2026-01-01T00:00:00Z", "note": "bad\x00"},
    )
    assert note.status_code == 422 and note.json()["errors"][0]["pointer"] == "/note"
    person = id_number(seq="778")
    case_id = api.start_survey(person)
    task = api.task_of(case_id).task_guid
    data = registration(person)
    data["residence"]["address"] = "解放路\x001号"
    r = api.post(f"/tasks/{task}/complete", "surveyor1", json=data, headers={"If-Match": "1"})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"pointer": "/residence/address", "code": "text.control_character", "message": "不能包含控制字符"}
    ]
