"""The OpenAPI document is the contract: requests generated from the served `/api/v1/openapi.json` for
every operation, sent as each of several roles to the app on PostgreSQL with an office's data (persons,
a comparison, survey cases at several steps, a document, an import with rejected rows, a migration job),
must pass schemathesis's four response checks — no server error, a documented status, the documented
media type, a body that validates against the documented schema.

Hypothesis is derandomized and the examples per operation limited, so the run is repeatable and takes a
few minutes; the data is built once for the module and every operation's run continues from where the
previous ones left it.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from canbao.config import PROJECT_ROOT, Settings
from composition.app import create_app
from engine.models import CaseTask
from engine.specs import SPECS

from ..engine.office import APPROVE, VILLAGE, id_number, registration
from .conftest import _HASH, SECRET, USERS, Api, population, seed_office

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CITIZEN = id_number(seq="777")
# Who the generated requests are sent as: each role sees its own part of the API (and the 401/403 of
# the rest); the citizen has no local account, only a token from the identity provider.
ROLES = {
    "manager1": None,
    "city1": None,
    "county1": None,
    "platform1": None,
    "surveyor1": None,
    "auditor1": None,
    "citizen": (CITIZEN, ["citizen"], VILLAGE),
}
# What the run saw, printed at the end (pytest -s): responses by status, and operations never answered
# with a success (their bodies are checked only by the other tests).
ANSWERS: Counter[str] = Counter()
SUCCEEDED: dict[str, bool] = {}
# Path parameters that name what the office holds: a positive case is also sent with these, so that
# operations on one resource reach their success bodies and not only their 404s.
KNOWN = {
    "key": "survey_registration",
    "version": 1,
    "a": 1,
    "b": 1,
    "job_id": 1,
    "case_id": 2,
    "document_id": 1,
    "import_id": 1,
    "run_id": 1,
    "team_id": 1,
    "authorization_id": 1,
    "id_number": CITIZEN,
    "area": VILLAGE[:9],
    "village": VILLAGE,
    "name": "coverage",
}
PDF = b"%PDF-1.7\n" + b"0" * 2048 + b"\n%%EOF\n"


def _office(api: Api) -> None:
    """Data like the demo's: persons on the survey list, a comparison, survey cases — one waiting for
    its survey, one surveyed and reviewed, one with a document — an import with a rejected row, a
    dry-run migration job and an audit anchor."""
    people = [id_number(seq=f"{n:03d}") for n in range(301, 311)] + [CITIZEN]
    population(api.db, *people)
    rows = "公民身份号码,姓名,性别,出生日期,户籍地区划,户籍地址,管理状态\n123,bad,row,,,,\n"
    r = api.post(
        "/imports",
        "county1",
        files={"file": ("p.csv", io.BytesIO(rows.encode()), "text/csv")},
        data={"kind": "population"},
    )
    assert r.status_code == 201, r.text
    assert api.post("/comparisons", "county1", json={"area": VILLAGE[:6]}).status_code == 201
    opened = api.post(f"/survey-lists/{VILLAGE[:9]}/cases", "platform1", json={"team_id": 1, "limit": 4})
    assert opened.status_code == 201, opened.text
    first, second, *_ = opened.json()["case_ids"]
    person = api.get(f"/cases/{first}", "platform1").json()["person_id"]
    api.complete("surveyor1", first, registration(person))
    api.complete("platform1", first, APPROVE)
    r = api.post(
        f"/cases/{second}/documents",
        "surveyor1",
        files={"file": ("form.pdf", io.BytesIO(PDF), "application/pdf")},
        data={"kind": "registration_form"},
    )
    assert r.status_code == 201, r.text
    r = api.post(
        "/definitions/survey_registration/migrations", "manager1", json={"from": 1, "to": 1, "dry_run": True}
    )
    assert r.status_code in (202, 422), r.text
    assert api.post("/audit/anchors", "city1").status_code == 201


@pytest.fixture(scope="module")
def office(pg_database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    pg_database.reset()
    SPECS.clear()
    data_dir = tmp_path_factory.mktemp("contract")
    app = create_app(
        Settings(
            database_url=pg_database.url, data_dir=data_dir, bpmn_dir=PROJECT_ROOT / "bpmn", jwt_secret=SECRET
        ),
        sessions=pg_database.sessions,
    )
    with pg_database.sessions() as s, s.begin():
        seed_office(s, password_hash=_HASH)
    with TestClient(app) as client:
        api = Api(client, pg_database)
        _office(api)
        yield api
    print(f"\ncontract run: {sum(ANSWERS.values())} responses, {dict(sorted(ANSWERS.items()))}")
    print("never a success:", sorted(op for op, ok in SUCCEEDED.items() if not ok))


def headers(api: Api, role: str) -> dict[str, str]:
    """A fresh token for each request, so a generated logout revokes only its own."""
    sub, roles, area = ROLES[role] or (role, *USERS[role])
    return api.mint(sub, list(roles), area)


@pytest.fixture(scope="module")
def contract(office: Api):
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", office.app)


schema = schemathesis.pytest.from_fixture("contract")


def _known(office: Api, case) -> dict | None:
    """The case's path parameters replaced with ones that exist, or None when it has none to replace."""
    params = case.path_parameters or {}
    if not params or case.method.upper() != case.operation.method.upper():
        return None
    known = {**KNOWN, "key": "registration" if case.path.startswith("/api/v1/forms") else KNOWN["key"]}
    if "task_id" in params:
        with office.db.sessions() as s:
            known["task_id"] = s.scalar(select(CaseTask.task_guid).where(CaseTask.state == "ready").limit(1))
    return {name: known.get(name, value) for name, value in params.items()}


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract_for_every_role(case, office):
    known = _known(office, case)
    for role in ROLES:
        _send(case, office, role)
    if known is not None:
        case.path_parameters = known
        for role in ROLES:
            _send(case, office, role)


def _send(case, office: Api, role: str) -> None:
    response = case.call_and_validate(headers=headers(office, role), checks=CHECKS)
    ANSWERS[str(response.status_code)] += 1
    label = case.operation.label
    ok = case.method.upper() == case.operation.method.upper() and response.status_code < 300
    SUCCEEDED[label] = SUCCEEDED.get(label, False) or ok
