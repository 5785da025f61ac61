"""The auditor's view over HTTP: the event log by filter and page, who read a person, integrity checks
with archive anchors, and that auditors change nothing."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from canbao.audit import anchors
from canbao.audit.models import AuditEvent
from registry import persons

from ..api.conftest import SYSTEM
from ..engine.office import VILLAGE, id_number, registration
from .helpers import longest_chain, rehash, tamper


@pytest.fixture
def person(api) -> str:
    number = id_number(seq="555")
    with api.db.sessions() as s, s.begin():
        persons.store(
            s, actor=SYSTEM, case_id=0, case_area=VILLAGE, person_id=number, registration=registration(number)
        )
    return number


def _all(api, user: str, **params) -> list[dict]:
    """Every page of /audit/events, following `next`."""
    items, before = [], None
    while True:
        page = api.get("/audit/events", user, params={**params, **({"before": before} if before else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if body["next"] is None:
            return items
        before = body["next"]


def test_events_by_case_actor_action_and_time_in_keyset_pages(api, person):
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person, phone="13905310001"))
    other = api.start_survey(id_number(seq="556"))
    with api.db.sessions() as s:
        expected = list(s.scalars(select(AuditEvent.id).where(AuditEvent.case_id == case_id)))

    pages = _all(api, "auditor1", case_id=case_id, limit=3)
    assert [e["id"] for e in pages] == sorted(expected, reverse=True)  # newest first, no overlap, none lost
    assert {e["case_id"] for e in pages} == {case_id}
    submitted = next(e for e in pages if e["action"] == "task.complete")
    assert submitted["actor"] == "surveyor1" and submitted["role"] == "surveyor"
    assert submitted["payload"]["data"]["phone"] == "139****0001"  # masked for the auditor
    assert submitted["person_id"] == person[:6] + "********" + person[-4:]

    by_surveyor = _all(api, "auditor1", actor="surveyor1", action="task.")
    # the surveyor's step completed the survey and created the review task
    assert {(e["actor"], e["action"]) for e in by_surveyor} == {
        ("surveyor1", "task.complete"),
        ("surveyor1", "task.ready"),
    }
    started = _all(api, "auditor1", action="case.start")
    assert {e["case_id"] for e in started} == {case_id, other}
    assert _all(api, "auditor1", person_id=person, action="case.start")[0]["case_id"] == case_id

    middle = next(e for e in started if e["case_id"] == other)["at"]
    before_other = _all(api, "auditor1", action="case.start", until=middle)
    assert [e["case_id"] for e in before_other] == [case_id]
    assert [e["case_id"] for e in _all(api, "auditor1", action="case.start", since=middle)] == [other]

    bad = api.get("/audit/events", "auditor1", params={"since": middle, "until": middle})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/until"
    assert api.get("/audit/events", "auditor1", params={"person_id": "370102199001011230"}).status_code == 422
    assert api.get("/audit/events", "platform1").status_code == 403
    queries = [e for e in api.events("audit.read") if e.actor_sub == "auditor1"]
    assert any(json.loads(e.payload)["filters"].get("case_id") == case_id for e in queries)


def test_auditors_see_their_own_area_only(api, person):
    case_id = api.start_survey(person)
    elsewhere = api.mint("auditor9", ["auditor"], "370103")
    r = api.client.get("/api/v1/audit/events", headers=elsewhere, params={"case_id": case_id})
    assert r.status_code == 200 and r.json()["items"] == []
    r = api.client.get("/api/v1/audit/events", headers=elsewhere, params={"area": "370102"})
    assert r.status_code == 403
    national = api.mint("auditor0", ["auditor"], "")
    login_failures = api.client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x" * 12})
    assert login_failures.status_code == 401
    r = api.client.get("/api/v1/audit/events", headers=national, params={"action": "auth.login_failed"})
    assert [e["actor"] for e in r.json()["items"]] == ["nobody"]
    assert _all(api, "auditor1", action="auth.login_failed") == []  # a login has no area: national only


def test_access_log_names_everyone_who_read_the_person(api, person):
    api.get(f"/persons/{person}", "platform1")
    api.get(f"/persons/{person}", "county1")
    api.get(f"/persons/{person}/missing", "platform1")
    api.get(f"/persons/{id_number(seq='556')}", "platform1")  # someone else

    log = api.get(f"/persons/{person}/access-log", "auditor1")
    assert log.status_code == 200
    reads = [(e["actor"], e["action"], e["route"] or e["purpose"]) for e in log.json()["items"]]
    assert ("platform1", "person.read", "GET /persons/{id}") in reads
    assert ("county1", "person.read", "GET /persons/{id}") in reads
    assert any(actor == "platform1" and action == "person.read" for actor, action, _ in reads[:1])
    assert all(e["action"].endswith((".read", ".export", ".print", ".list")) for e in log.json()["items"])

    citizen = api.mint(person, ["citizen"], "")
    own = api.client.get(f"/api/v1/persons/{person}/access-log", headers=citizen)
    assert own.status_code == 200 and {e["actor"] for e in own.json()["items"]} >= {"platform1", "county1"}
    other = api.client.get(f"/api/v1/persons/{id_number(seq='556')}/access-log", headers=citizen)
    assert other.status_code == 404
    assert api.get(f"/persons/{person}/access-log", "platform1").status_code == 403
    [looked] = [e for e in api.events("audit.read") if e.actor_sub == "auditor1"]
    assert looked.person_id == person


def test_verify_over_http_finds_tampering_and_is_recorded(api, person):
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    ok = api.get("/audit/verify", "auditor1").json()
    assert ok["ok"] and ok["events"] > 5 and ok["method"] == "postgresql" and ok["breaks"] == []

    submitted = next(e for e in api.events("task.complete"))
    tamper(api.db, ("UPDATE audit_event SET payload = '{}' WHERE id = :id", {"id": submitted.id}))
    broken = api.get("/audit/verify", "auditor1").json()
    assert not broken["ok"]
    [found] = broken["breaks"]
    assert (found["event_id"], found["kind"], found["title"]) == (submitted.id, "changed", "事件内容被篡改")
    [first, second] = api.events("audit.verify")
    assert json.loads(first.payload)["ok"] and not json.loads(second.payload)["ok"]
    assert api.get("/audit/verify", "city1").status_code == 403


def test_anchors_in_the_archive_catch_a_rewritten_chain(api, person):
    api.start_survey(person)
    written = api.post("/audit/anchors", "city1")
    assert written.status_code == 201, written.text
    key = written.json()["key"]
    stored = Path(api.app.state.settings.archive_dir, key)
    document = json.loads(stored.read_bytes())
    assert document["signature"]["alg"] == "Ed25519" and document["events"] == written.json()["events"]
    assert api.post("/audit/anchors", "auditor1").status_code == 403

    report = api.get("/audit/verify", "auditor1").json()
    assert report["ok"] and report["anchors"] == 1

    chain = longest_chain(api.db)
    tamper(api.db, ("UPDATE audit_event SET actor_sub = 'forger' WHERE chain = :c AND seq = 1", {"c": chain}))
    rehash(api.db, chain, 1)  # every hash of the chain and its head recomputed: only the anchor knows
    [found] = api.get("/audit/verify", "auditor1").json()["breaks"]
    assert (found["chain"], found["kind"]) == (chain, "rewritten") and key in found["detail"]


def test_a_forged_anchor_is_reported(api, person):
    api.start_survey(person)
    api.post("/audit/anchors", "city1")
    forged = Path(
        api.app.state.settings.archive_dir, anchors.PREFIX, "2020/01/01/20200101T000000000000Z.json"
    )
    forged.parent.mkdir(parents=True)
    forged.write_text(
        json.dumps({"type": anchors.KIND, "chains": [{"chain": 0, "seq": 1, "hash": "0" * 64}]})
    )
    report = api.get("/audit/verify", "auditor1").json()
    assert not report["ok"] and report["anchors"] == 2
    assert report["anchor_problems"] == [
        f"锚点 {anchors.PREFIX}2020/01/01/20200101T000000000000Z.json：文件没有 Ed25519 或 SM2 签名"
    ]


def test_auditors_cannot_change_anything(api, person):
    """Every route that writes refuses an auditor: 403, and nothing is written."""
    spec = api.app.openapi()
    case_id = api.start_survey(person)
    with api.db.sessions() as s:
        before = s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    login_routes = {"/api/v1/auth/token", "/api/v1/auth/logout"}  # an auditor must be able to log in and out
    verifying = "/api/v1/audit/verifications"  # reads the log and records that it did: the auditor's job
    checked = []
    for path, operations in spec["paths"].items():
        for method in operations:
            if method in ("get", "head", "options") or path in (*login_routes, verifying):
                continue
            url = path.replace("{case_id}", str(case_id)).replace("{id_number}", person)
            url = url.replace("{key}", "survey_registration").replace("{version}", "1")
            for name in ("{task_id}", "{authorization_id}", "{team_id}", "{job_id}", "{area}", "{village}"):
                url = url.replace(name, "1")
            r = api.client.request(method.upper(), url, headers=api.as_("auditor1"), json={})
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            checked.append((method, path))
    assert len(checked) >= 15
    with api.db.sessions() as s:
        written = list(s.scalars(select(AuditEvent.action).where(AuditEvent.id > before)))
    assert set(written) <= {"auth.login"}  # the auditor's own login, nothing else
