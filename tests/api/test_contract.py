"""What the OpenAPI document promises, and the defects the schemathesis run (test_schemathesis.py) found,
each as a plain test."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from canbao.config import PROJECT_ROOT

from ..engine.office import APPROVE, id_number, registration

PROBLEM = "application/problem+json"


def _operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def test_every_error_is_documented_as_a_problem_and_no_default_422_is_left(api):
    doc = api.client.get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert {"errors", "reason"} <= set(problem["properties"])
    for name, op in _operations(doc):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")) and not name.endswith(("/readyz",)):
                assert list(response["content"]) == [PROBLEM], (name, status)


def test_error_statuses_follow_from_what_a_route_declares(api):
    doc = api.client.get("/api/v1/openapi.json").json()
    ops = dict(_operations(doc))
    complete = set(ops["POST /api/v1/tasks/{task_id}/complete"]["responses"])
    assert {"400", "401", "403", "404", "409", "412", "413", "422", "428"} <= complete
    assert {"401", "403", "404", "415", "413"} <= set(
        ops["POST /api/v1/cases/{case_id}/documents"]["responses"]
    )
    assert {"401", "429"} <= set(ops["POST /api/v1/auth/token"]["responses"])
    assert "403" not in ops["GET /api/v1/me"]["responses"]  # signed in is enough, and a GET needs no CSRF
    assert "401" not in ops["GET /healthz"]["responses"]


def test_every_json_success_body_is_typed(api):
    """Clients generated from the document get a model for every success body (files and 204s aside)."""
    doc = api.client.get("/api/v1/openapi.json").json()
    untyped = []
    for name, op in _operations(doc):
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                schema = content.get("schema", {})
                if (
                    status.startswith("2")
                    and "json" in media
                    and not (schema.get("$ref") or schema.get("items"))
                ):
                    untyped.append((name, status, media))
    assert untyped == []


def test_deploying_identical_bpmn_answers_a_documented_200(api):
    doc = api.client.get("/api/v1/openapi.json").json()
    deploy = doc["paths"]["/api/v1/definitions"]["post"]["responses"]
    assert {"200", "201"} <= set(deploy)
    xml = (Path(PROJECT_ROOT) / "bpmn" / "survey_registration.bpmn").read_bytes()
    r = api.client.post(
        "/api/v1/definitions", content=xml, headers={**api.as_("manager1"), "Content-Type": "application/xml"}
    )
    assert r.status_code == 200 and r.json()["created"] is False


def test_a_task_and_its_case_carry_the_case_version_as_etag_and_if_match_takes_it_back(api):
    person = id_number(seq="611")
    case_id = api.start_survey(person)
    task = api.task_of(case_id)
    got = api.get(f"/tasks/{task.task_guid}", "surveyor1")
    assert got.headers["ETag"] == f'"{got.json()["case_version"]}"'
    case = api.get(f"/cases/{case_id}", "surveyor1")
    assert case.headers["ETag"] == got.headers["ETag"]
    r = api.post(
        f"/tasks/{task.task_guid}/complete",
        "surveyor1",
        json=registration(person),
        headers={"If-Match": got.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    stale = api.post(
        f"/tasks/{api.task_of(case_id).task_guid}/complete",
        "platform1",
        json=APPROVE,
        headers={"If-Match": got.headers["ETag"]},
    )
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM


def test_a_role_that_sees_masked_data_can_log_out(api):
    """The masking step read the empty body of the 204 as JSON: 500 for every masked role."""
    r = api.post("/auth/logout", "city1")
    assert r.status_code == 204 and r.content == b""
    assert api.get("/me", "city1").status_code == 401


def test_a_body_that_is_not_utf8_is_a_bad_request_in_chinese(api):
    r = api.client.post(
        "/api/v1/authorizations",
        content=b"(\x80Ww\xff",  # not UTF-8 (nor UTF-16 or -32, which json also reads)
        headers={**api.as_("city1"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "body.unreadable" and "UTF-8" in r.json()["detail"]


def test_the_signed_export_is_the_json_its_schema_says(api):
    """The export was documented as a string: its body failed the document's own schema."""
    case_id = api.start_survey(id_number(seq="612"))
    doc = api.client.get("/api/v1/openapi.json").json()
    op = doc["paths"]["/api/v1/audit/cases/{case_id}/export"]["get"]
    schema = op["responses"]["200"]["content"]["application/vnd.canbao.signed+json"]["schema"]
    r = api.get(f"/audit/cases/{case_id}/export", "auditor1")
    assert r.status_code == 200
    jsonschema.validate(r.json(), {**schema, "components": doc["components"]})
