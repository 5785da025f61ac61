"""Every integer the API accepts has bounds that fit the column it is compared with, so a number too large
for PostgreSQL is bad input (422 problem+json naming the field), never a database error (500).

The first test walks the app's OpenAPI document: a route added later with an unbounded integer fails it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import BigInteger, Integer, SmallInteger

from archive.models import Document
from canbao.audit.models import AuditEvent
from canbao.config import PROJECT_ROOT, Settings
from composition.app import create_app
from engine.change_models import MigrationItem, MigrationJob
from engine.models import Case, CountyAuthorization, ProcessDefinition
from registry.models import ComparisonRun, DataImport, ExchangeBatch, SurveyTeam

# The column each integer parameter is stored in or compared with, by parameter name.
COLUMNS = {
    "case_id": Case.id,
    "case_ids": Case.id,
    "team_id": SurveyTeam.id,
    "version": ProcessDefinition.version,
    "a": ProcessDefinition.version,
    "b": ProcessDefinition.version,
    "from": MigrationJob.from_version,
    "to": MigrationJob.to_version,
    "job_id": MigrationJob.id,
    "after": MigrationItem.id,
    "authorization_id": CountyAuthorization.id,
    "document_id": Document.id,
    "import_id": DataImport.id,
    "run_id": ComparisonRun.id,
    "batch_id": ExchangeBatch.id,
}
# Parameters of the case list and the event log that are compared with a row id of their own table.
BY_PATH = {
    ("/api/v1/cases", "before"): Case.id,
    ("/api/v1/audit/events", "before"): AuditEvent.id,
    ("/api/v1/exchange/batches", "after"): ExchangeBatch.id,
}
ACCESS_LOG_BEFORE = AuditEvent.id
# Page sizes and offsets: not stored, but bound to a SQL LIMIT or OFFSET (a bigint).
NOT_STORED = {"limit", "offset"}
LARGEST = {SmallInteger: 2**15 - 1, Integer: 2**31 - 1, BigInteger: 2**63 - 1}


def _largest(column) -> int:
    for kind in type(column.type).__mro__:
        if kind in LARGEST:
            return LARGEST[kind]
    raise AssertionError(f"{column} is not an integer column")


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _integers(schema: dict, components: dict, name: str) -> list[tuple[str, dict]]:
    """(field name, schema) of every integer in a parameter or body schema."""
    schema = _resolve(schema, components)
    found = []
    if schema.get("type") == "integer":
        found.append((name, schema))
    for variant in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found += _integers(variant, components, name)
    if "items" in schema:
        found += _integers(schema["items"], components, name)
    for field, sub in schema.get("properties", {}).items():
        found += _integers(sub, components, field)
    return found


def integer_parameters(spec: dict) -> list[tuple[str, str, str, str, dict]]:
    """(method, path, where, name, schema) for each integer in a path, query or body."""
    components = spec.get("components", {}).get("schemas", {})
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for name, schema in _integers(parameter["schema"], components, parameter["name"]):
                    found.append((method, path, parameter["in"], name, schema))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for name, schema in _integers(content.get("schema", {}), components, ""):
                    found.append((method, path, "body", name, schema))
    return found


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict:
    settings = Settings(
        database_url="sqlite://",
        data_dir=tmp_path_factory.mktemp("var"),
        bpmn_dir=PROJECT_ROOT / "bpmn",
        jwt_secret="x" * 40,
    )
    return create_app(settings).openapi()


def test_every_integer_parameter_has_bounds_that_fit_its_column(spec):
    found = integer_parameters(spec)
    assert len(found) >= 30
    wrong = []
    for method, path, where, name, schema in found:
        where_ = f"{method.upper()} {path} {where} {name}"
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is None or high is None:
            wrong.append(f"{where_}: no minimum or maximum")
            continue
        if name in NOT_STORED:
            column_max = 2**63 - 1
        elif (path, name) in BY_PATH:
            column_max = _largest(BY_PATH[(path, name)])
        elif name == "before" and path.endswith("/access-log"):
            column_max = _largest(ACCESS_LOG_BEFORE)
        elif name in COLUMNS:
            column_max = _largest(COLUMNS[name])
        else:
            wrong.append(f"{where_}: unknown parameter; name its column in COLUMNS")
            continue
        if high > (float(column_max) if isinstance(high, float) else column_max):  # JSON numbers: floats
            wrong.append(f"{where_}: maximum {high} exceeds its column's {column_max}")
    assert wrong == [], "\n".join(wrong)


# A value each path parameter that is not an integer can take.
PATH_VALUES = {"key": "survey_registration", "area": "370102", "id_number": "370102199001011237"}


def _url(path: str, name: str, value: int) -> str:
    url = path.replace("{" + name + "}", str(value))
    for other, text in PATH_VALUES.items():
        url = url.replace("{" + other + "}", text)
    return url.replace("{version}", "1").replace("{a}", "1").replace("{b}", "1").replace("{job_id}", "1")


def _body(name: str, value: int) -> dict[str, Any]:
    if name == "case_ids":
        return {"from": 1, "to": 2, "dry_run": True, "filter": {"case_ids": [value]}}
    return {name: value}


def test_out_of_range_integers_get_422_naming_the_field(api):
    """One request per integer parameter with the first value beyond its bound: 422 problem+json with
    the field's pointer (the requests come from a token holding every role, so no route stops earlier)."""
    every_role = api.mint(
        "root", ["city_admin", "process_manager", "auditor", "county_approver", "province_admin"], ""
    )
    checked = 0
    for method, path, where, name, schema in integer_parameters(api.app.openapi()):
        value = int(schema["maximum"]) + 1
        url, params, body = _url(path, name, 1), None, None
        if where == "path":
            url = _url(path, name, value)
        elif where == "query":
            params = {name: value}
        else:
            body = _body(name, value)
        r = api.client.request(method.upper(), url, headers=every_role, params=params, json=body)
        assert r.status_code == 422, (method, path, name, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        pointers = {e["pointer"] for e in r.json()["errors"]}
        expected = {"path": f"/path/{name}", "query": f"/query/{name}", "body": f"/{name}"}[where]
        assert expected in pointers or "/filter/case_ids/0" in pointers, (method, path, pointers)
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    "path",
    [
        "/definitions/survey_registration/versions/2147483648",
        "/definitions/survey_registration/versions/1/diff/2147483648",
        "/documents/9223372036854775808",
        "/comparisons/9223372036854775808",
        "/survey-teams/9223372036854775808",
        "/audit/cases/9223372036854775808/export",
    ],
)
def test_the_reported_500s_are_422(api, path):
    r = api.client.get(
        f"/api/v1{path}", headers=api.mint("root", ["city_admin", "process_manager", "auditor"], "")
    )
    assert r.status_code == 422, r.text
