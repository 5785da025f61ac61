"""Every kind of action the issue names leaves its event, through the code paths users take: who, on
what, with which data — and the chains stay valid throughout."""

import json
import time

from typer.testing import CliRunner

from canbao.config import get_settings
from composition.cli import app
from engine import cases, worker

from ..definitions import variants
from ..engine.office import APPROVE, PLATFORM1, SURVEYOR1, Office, id_number, registration
from .helpers import run


def _one(api, action: str, **expected):
    """The single event of `action` (after those already seen), with the expected fields."""
    found = [e for e in api.events(action) if all(getattr(e, k) == v for k, v in expected.items())]
    assert len(found) == 1, (action, expected, [(e.actor_sub, e.object_id) for e in api.events(action)])
    return found[0]


def _payload(event) -> dict:
    return json.loads(event.payload)


def test_workflow_steps(api):
    person = id_number(seq="301")
    case_id = api.start_survey(person)
    start = _one(api, "case.start", case_id=case_id)
    assert (start.actor_sub, start.actor_role, start.area, start.person_id) == (
        "platform1",
        "platform_reviewer",
        "370102001002",
        person,
    )
    assert start.client_addr == "testclient" and _payload(start)["process"] == "survey_registration"
    survey = api.task_of(case_id)
    ready = _one(api, "task.ready", object_id=survey.task_guid)
    assert (_payload(ready)["task"], _payload(ready)["role"]) == ("survey", "surveyor")

    assert api.post(f"/tasks/{survey.task_guid}/claim", "surveyor1").status_code == 200
    assert _one(api, "task.claim", object_id=survey.task_guid).actor_sub == "surveyor1"
    assert api.post(f"/tasks/{survey.task_guid}/unclaim", "surveyor1").status_code == 200
    assert _payload(_one(api, "task.unclaim", object_id=survey.task_guid))["previous"] == "surveyor1"
    r = api.post(f"/tasks/{survey.task_guid}/assign", "platform1", json={"assignee": "surveyor2"})
    assert r.status_code == 200, r.text
    assigned = _one(api, "task.assign", object_id=survey.task_guid)
    assert (assigned.actor_sub, _payload(assigned)["assignee"]) == ("platform1", "surveyor2")

    api.complete("surveyor2", case_id, registration(person, phone="13905310001"))
    completed = _one(api, "task.complete", object_id=survey.task_guid)
    assert completed.actor_sub == "surveyor2"
    assert _payload(completed)["data"]["phone"] == "13905310001"  # with the submitted data

    review = api.task_of(case_id)
    version = api.get(f"/tasks/{review.task_guid}", "platform1").json()["case_version"]
    reason = "户籍地址与身份证不一致，请核实"
    api.post(
        f"/tasks/{review.task_guid}/return",
        "platform1",
        json={"reason": reason},
        headers={"If-Match": str(version)},
    )
    returned = _one(api, "task.return", object_id=review.task_guid)
    assert _payload(returned)["data"]["reason"] == reason
    gateways = [_payload(e) for e in api.events("gateway.taken") if e.case_id == case_id]
    assert any(g["to"] == ["survey"] for g in gateways)  # the return flow taken
    assert run(api.db).ok


def test_timer_and_supervision(api):
    office = Office(api.db)
    person = id_number(seq="302")
    case_id = office.start(person=person, data={"timeouts": {"initial_review": "PT1S"}})
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    time.sleep(1.2)
    assert worker.run_due(api.db.sessions) == 1
    fired = _one(api, "timer.fire", case_id=case_id)
    assert (fired.actor_sub, _payload(fired)["event"]) == ("system", "initial_review_timeout")
    assert _one(api, "task.supervise", case_id=case_id).actor_sub == "system"  # 督办; 初审 stays


def test_definition_deploy_and_case_migration(api):
    person = id_number(seq="303")
    case_id = api.start_survey(person)
    r = api.post(
        "/definitions?publish=true&comment=加预审",
        "manager1",
        content=variants.with_precheck().encode(),
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 201, r.text
    deployed = _one(api, "definition.deploy", actor_sub="manager1")
    assert (_payload(deployed)["key"], _payload(deployed)["version"]) == ("survey_registration", 2)
    r = api.post(
        "/definitions/survey_registration/migrations", "manager1", json={"from": 1, "to": 2, "dry_run": False}
    )
    assert r.status_code == 202, r.text
    assert _one(api, "migration.request").actor_sub == "manager1"
    moved = _one(api, "case.migrate", case_id=case_id)
    assert _payload(moved)["to"] == 2


def test_registry_writes_field_by_field(api):
    person = id_number(seq="304")
    case_id = api.start_survey(None)  # someone new: bound by the survey's 登记表, created at 入库
    api.complete("surveyor1", case_id, registration(person))
    api.complete("platform1", case_id, APPROVE)
    api.complete("county1", case_id, APPROVE)
    stored = _one(api, "registry.store", case_id=case_id)
    assert (stored.actor_sub, stored.person_id, _payload(stored)["created"]) == ("county1", person, True)
    changes = {_payload(e)["field"]: _payload(e) for e in api.events("registry.field_change")}
    assert changes["/phone"] == {"field": "/phone", "old": None, "new": "13805310000"}
    assert changes["/hukou/division"]["new"] == "370102001002"


def test_reads_of_persons_and_documents_and_exports(api):
    person = id_number(seq="305")
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    api.complete("platform1", case_id, APPROVE)
    api.complete("county1", case_id, APPROVE)
    assert api.get(f"/persons/{person}", "county1").status_code == 200
    read = [e for e in api.events("person.read") if e.actor_sub == "county1" and e.object_type == "person"]
    assert read and read[-1].person_id == person and _payload(read[-1])["purpose"] == "GET /persons/{id}"

    pdf = b"%PDF-1.7\n" + b"0" * 1024 + b"\n%%EOF\n"
    with api.db.sessions() as s, s.begin():
        cases.start(
            s, actor=PLATFORM1, process_key="counter_collection", area="370102001002", person_id=person
        )
    [counter] = [e.case_id for e in api.events("case.start") if e.case_id != case_id]
    r = api.client.post(
        f"/api/v1/cases/{counter}/documents",
        headers=api.as_("platform1"),
        data={"kind": "id_card_front"},
        files={"file": ("id.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    added = _one(api, "document.add", case_id=counter)
    assert (added.actor_sub, added.object_id) == ("platform1", str(r.json()["id"]))
    assert api.get(f"/documents/{r.json()['id']}", "auditor1").status_code == 200
    document_read = _one(api, "document.read", actor_sub="auditor1")
    assert (document_read.case_id, document_read.object_id) == (counter, str(r.json()["id"]))

    exported = api.get("/reports/coverage.xlsx", "city1", params={"area": "370102", "details": "true"})
    assert exported.status_code == 200, exported.text
    assert _one(api, "report.export", actor_sub="city1").area == "370102"
    assert api.get(f"/audit/cases/{case_id}/export", "auditor1").status_code == 200
    assert _one(api, "audit.export", case_id=case_id).person_id == person


def test_logins_failed_logins_and_logout(api):
    api.token("platform1")
    login = _one(api, "auth.login", actor_sub="platform1")
    assert (login.client_addr, login.actor_role) == ("testclient", "platform_reviewer")
    r = api.client.post("/api/v1/auth/token", data={"username": "platform1", "password": "wrong-password"})
    assert r.status_code == 401
    failed = _one(api, "auth.login_failed", actor_sub="platform1")
    assert _payload(failed) == {"reason": "bad_credentials"}
    assert api.post("/auth/logout", "platform1").status_code == 204
    assert _one(api, "auth.logout").actor_sub == "platform1"


def test_authorization_grant_and_revoke(api):
    r = api.post(
        "/authorizations",
        "city1",
        json={"kind": "survey", "county": "370103", "valid_from": "2026-01-01T00:00:00+08:00"},
    )
    assert r.status_code == 201, r.text
    granted = _one(api, "authorization.grant", object_id=str(r.json()["id"]))
    assert (granted.area, _payload(granted)["county"]) == ("370103", "370103")
    assert api.delete(f"/authorizations/{r.json()['id']}", "city1").status_code == 200
    assert _one(api, "authorization.revoke").object_id == str(r.json()["id"])


def test_user_changes(api, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", api.db.url)
    get_settings.cache_clear()
    cli = CliRunner()
    password = "a-long-enough-password"
    args = ["users", "add", "auditor7", "--name", "钱七", "--role", "auditor", "--area", "3701"]
    assert cli.invoke(app, args, input=f"{password}\n{password}\n").exit_code == 0
    assert cli.invoke(app, ["users", "disable", "auditor7"]).exit_code == 0
    assert (
        cli.invoke(app, ["users", "set-password", "auditor7"], input=f"{password}!\n{password}!\n").exit_code
        == 0
    )
    get_settings.cache_clear()
    created = _one(api, "user.create", object_id="auditor7")
    assert (created.actor_sub, _payload(created)["roles"], created.area) == ("cli", ["auditor"], "3701")
    assert _one(api, "user.disable", object_id="auditor7").actor_sub == "cli"
    assert _one(api, "user.set_password", object_id="auditor7").payload == "{}"  # never the password


def test_imports_and_the_download_of_rejected_rows(api):
    person = id_number(seq="307")  # odd: male
    row = f"{person},居民,男,{person[6:10]}-{person[10:12]}-{person[12:14]},370102001002,解放路1号,正常\n"
    content = (
        "公民身份号码,姓名,性别,出生日期,户籍地区划,户籍地址,管理状态\n" + row + "123,bad,row,,,,\n"
    ).encode()
    r = api.post(
        "/imports", "county1", files={"file": ("p.csv", content, "text/csv")}, data={"kind": "population"}
    )
    assert r.status_code == 201, r.text
    applied = _one(api, "import.apply", actor_sub="county1")
    assert (_payload(applied)["accepted"], _payload(applied)["rejected"]) == (1, 1)
    assert api.get(f"/imports/{r.json()['id']}/rejections.csv", "county1").status_code == 200
    assert _one(api, "import.export", object_id=str(r.json()["id"])).actor_sub == "county1"
