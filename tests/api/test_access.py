"""One rule decides who may see a case, for every route that reaches one (design §2).

The routes come from the application's own OpenAPI document, not from a list kept here: every route
whose path names a case, task, document, person or another area-scoped resource is called with the
identifiers of a populated 历下区 case — by a citizen who is somebody else, and by staff of another area
in every role — and must answer as if the thing did not exist (404), or refuse the role outright for
any resource (403 `auth.role_not_allowed`). A new route that forgets the check fails here.
"""

from __future__ import annotations

import re

import pytest

from canbao.actors import Actor
from forms.idnumber import check_char
from registry import comparison, imports, persons
from tests.registry.helpers import POP_HEADER, csv_bytes, pop_row

from ..archive.conftest import PDF
from ..engine.office import VILLAGE, id_number, registration
from .conftest import SYSTEM

SCOPED = {
    "case_id",
    "task_id",
    "document_id",
    "id_number",
    "area",
    "village",
    "team_id",
    "import_id",
    "run_id",
    "authorization_id",
}
# Staff of another place, one per role: 市中区 for the township and county levels, 青岛 for the city,
# 广东 for the province and the process manager.
FOREIGN_STAFF = {
    "surveyor": "370103001",
    "platform_reviewer": "370103001",
    "county_approver": "370103",
    "city_admin": "3702",
    "province_admin": "44",
    "process_manager": "44",
    "auditor": "370103",
}
IN_AREA = ["county1", "platform1", "surveyor1", "auditor1", "city1"]
ROLE_REFUSED = "auth.role_not_allowed"


def _body(method: str, path: str, office: dict) -> dict:
    """What a well-formed request to a mutating route carries, so that only the reach decides."""
    examples = {
        ("POST", "/tasks/{task_id}/claim"): {},
        ("POST", "/tasks/{task_id}/unclaim"): {},
        ("POST", "/tasks/{task_id}/assign"): {"json": {"assignee": "platform2"}},
        ("POST", "/tasks/{task_id}/complete"): {"json": {"decision": "approve"}},
        ("POST", "/tasks/{task_id}/return"): {"json": {"reason": "请核实联系电话"}},
        ("POST", "/tasks/{task_id}/remind"): {"json": {"note": "请尽快办理"}},
        ("PUT", "/tasks/{task_id}/draft"): {"json": {"reason": "请核实"}},
        ("DELETE", "/tasks/{task_id}/draft"): {},
        ("POST", "/cases/{case_id}/documents"): {
            "data": {"kind": "other"},
            "files": {"file": ("scan.pdf", PDF, "application/pdf")},
        },
        ("POST", "/survey-lists/{area}/cases"): {"json": {"team_id": office["team_id"]}},
        ("PUT", "/survey-teams/{team_id}/members"): {
            "json": [{"name": "赵六", "card_no": "DC0009"}, {"name": "钱七", "card_no": "DC0010"}]
        },
        ("DELETE", "/survey-teams/{team_id}"): {},
        ("DELETE", "/authorizations/{authorization_id}"): {},
    }
    if method == "GET":
        return {}
    assert (method, path) in examples, f"{method} {path}: give it a well-formed example request here"
    return examples[(method, path)]


@pytest.fixture
def office(api) -> dict:
    """A 历下区 person with a survey case at 初审 (a document attached), an import and a comparison."""
    number = id_number(seq="771")
    with api.db.sessions() as s, s.begin():
        persons.store(
            s, actor=SYSTEM, case_id=0, case_area=VILLAGE, person_id=number, registration=registration(number)
        )
    case_id = api.start_survey(number)
    survey_task = api.task_of(case_id).task_guid
    upload = api.client.post(
        f"/api/v1/cases/{case_id}/documents",
        headers=api.as_("surveyor1"),
        data={"kind": "registration_form"},
        files={"file": ("form.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    api.complete("surveyor1", case_id, registration(number))
    draft = api.put(f"/tasks/{api.task_of(case_id).task_guid}/draft", "platform1", json={"reason": "请核实"})
    assert draft.status_code == 200, draft.text  # (the reviewer's draft, for GET …/draft)
    county = api.mint("county1", ["county_approver"], "370102")
    with api.db.sessions() as s, s.begin():
        actor = Actor(sub="county1", roles=("county_approver",), area="370102")
        imported = imports.import_file(
            s,
            actor=actor,
            kind="population",
            filename="p.csv",
            content=csv_bytes(
                POP_HEADER, [pop_row(id_number(seq="773"), "孙一"), pop_row("370102199001011230", "错号")]
            ),
        )
        run = comparison.run(s, actor=actor, area="370102").run
        import_id, run_id = imported.record.id, run.id
    authorizations = api.client.get("/api/v1/authorizations", headers=county).json()
    return {
        "case_id": case_id,
        "task_id": api.task_of(case_id).task_guid,
        "survey_task": survey_task,
        "document_id": upload.json()["id"],
        "id_number": number,
        "area": VILLAGE,
        "village": VILLAGE,
        "team_id": 1,
        "import_id": import_id,
        "run_id": run_id,
        "authorization_id": authorizations[0]["id"],
    }


def _scoped_routes(api) -> list[tuple[str, str, list[str]]]:
    found = []
    for path, operations in api.app.openapi()["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            if SCOPED.intersection(names):
                assert set(names) <= SCOPED | {"name"}, f"{method} {path}: unknown path parameter"
                found.append((method.upper(), path.removeprefix("/api/v1"), names))
    return found


def _url(path: str, office: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(office.get(m.group(1), "coverage")), path)


def _call(api, method: str, path: str, office: dict, headers: dict):
    body = _body(method, path, office)
    extra = {"If-Match": "1"} if path.endswith(("/complete", "/return")) else {}
    return api.client.request(method, f"/api/v1{_url(path, office)}", headers={**headers, **extra}, **body)


def _foreigners(api) -> dict[str, dict[str, str]]:
    body = "37010319850505123"
    citizen = body + check_char(body)
    actors = {"citizen of another person": api.mint(citizen, ["citizen"], "")}
    for role, area in FOREIGN_STAFF.items():
        actors[f"{role} of {area}"] = api.mint(f"foreign-{role}", [role], area)
    return actors


def test_every_route_that_reaches_a_case_answers_outsiders_as_if_it_did_not_exist(api, office):
    routes = _scoped_routes(api)
    assert len(routes) >= 25  # the enumeration found the routes (not a vacuous pass)
    leaks = []
    for method, path, _ in routes:
        for who, headers in _foreigners(api).items():
            r = _call(api, method, path, office, headers)
            refused_role = r.status_code == 403 and r.json().get("code") == ROLE_REFUSED
            if r.status_code != 404 and not refused_role:
                leaks.append(f"{method} {path} as {who}: {r.status_code} {r.text[:120]}")
    assert leaks == []


def test_the_identifiers_used_above_are_real_for_staff_of_the_area(api, office):
    """The control: each route the walk above calls reaches the case for someone of its own area, so a
    404 there means "outside", not "wrong identifier"."""
    unreached = []
    for method, path, _ in _scoped_routes(api):
        if method != "GET":
            continue
        statuses = [_call(api, method, path, office, api.as_(user)).status_code for user in IN_AREA]
        if not any(200 <= s < 300 for s in statuses):
            unreached.append(f"GET {path}: {statuses}")
    assert unreached == []


def test_a_citizen_cannot_walk_other_peoples_documents(api, office):
    """Found: document ids are sequential, and a citizen got the list and the bytes of anyone's scans."""
    stranger = _foreigners(api)["citizen of another person"]
    document = api.client.get(f"/api/v1/documents/{office['document_id']}", headers=stranger)
    listing = api.client.get(f"/api/v1/cases/{office['case_id']}/documents", headers=stranger)
    absent = api.client.get(f"/api/v1/documents/{office['document_id'] + 1000}", headers=stranger)
    assert document.status_code == listing.status_code == 404
    assert document.json()["code"] == absent.json()["code"]
    owner = api.mint(office["id_number"], ["citizen"], "")
    own = api.client.get(f"/api/v1/cases/{office['case_id']}/documents", headers=owner)
    assert own.status_code == 200 and len(own.json()["items"]) == 1
