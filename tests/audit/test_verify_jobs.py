"""Verifying the audit log never holds other users up: it reads one snapshot without taking SQLite's
write lock, and over the API a long run is a job whose progress can be polled."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from canbao.audit import verify

from ..api.conftest import PASSWORD, make_api


@pytest.fixture
def sqlite_api(sqlite_database, tmp_path):
    sqlite_database.reset()
    return make_api(sqlite_database, tmp_path)


@pytest.fixture(params=["postgresql", "sqlite"])
def any_api(request, tmp_path):
    database = request.getfixturevalue("pg_database" if request.param == "postgresql" else "sqlite_database")
    database.reset()
    return make_api(database, tmp_path)


def test_verify_works_on_sqlite(sqlite_api):
    r = sqlite_api.get("/audit/verify", "auditor1")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] and report["method"] == "python" and report["events"] > 0


def _poll(api, location: str, user: str = "auditor1") -> dict:
    for _ in range(600):
        job = api.client.get(location, headers=api.as_(user)).json()
        if job["status"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError("the verification did not finish")


def test_a_verification_job_reports_progress_and_the_report(any_api):
    api = any_api
    started = api.post("/audit/verifications", "auditor1")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location.startswith("/api/v1/audit/verifications/") and started.json()["status"] in (
        "running",
        "done",
    )
    job = _poll(api, location)
    assert job["status"] == "done" and job["report"]["ok"] and job["requested_by"] == "auditor1"
    assert job["done"] == job["total"] == job["report"]["events"] > 0
    assert [e.actor_sub for e in api.events("audit.verify")] == ["auditor1"]
    assert api.post("/audit/verifications", "city1").status_code == 403
    assert api.get(location.removeprefix("/api/v1"), "city1").status_code == 403
    assert api.get("/audit/verifications/999999", "auditor1").status_code == 404


def _hold_scans(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Make every verification stop inside its snapshot, after reading the events, until released."""
    inside, release = threading.Event(), threading.Event()

    def holding(scan):
        def scan_then_wait(session, *args):
            results = scan(session, *args)
            inside.set()
            assert release.wait(60)
            return results

        return scan_then_wait

    monkeypatch.setattr(verify, "_scan_python", holding(verify._scan_python))
    monkeypatch.setattr(verify, "_scan_sql", holding(verify._scan_sql))
    return inside, release


def _others_work(api) -> None:
    """A sign-in, a read and a change by other users, each on a connection of its own; none may wait."""
    done: list[int] = []

    def work() -> None:
        client = TestClient(api.app)
        signed_in = client.post("/api/v1/auth/token", data={"username": "platform1", "password": PASSWORD})
        token = signed_in.json()["access_token"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        anchor = client.post("/api/v1/audit/anchors", headers=api.as_("city1"))
        done.extend([signed_in.status_code, me.status_code, anchor.status_code])

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "other users waited for the verification"
    assert done == [200, 200, 201]


def test_other_users_do_not_wait_for_a_verification_job(any_api, monkeypatch):
    api = any_api
    inside, release = _hold_scans(monkeypatch)
    api.token("city1")  # signed in before: the sign-in that must not wait is platform1's
    location = api.post("/audit/verifications", "auditor1").headers["location"]
    assert inside.wait(20)
    try:
        _others_work(api)
        assert api.client.get(location, headers=api.as_("auditor1")).json()["status"] == "running"
    finally:
        release.set()
    assert _poll(api, location)["report"]["ok"]


def test_other_users_do_not_wait_for_verify_over_get(any_api, monkeypatch):
    api = any_api
    inside, release = _hold_scans(monkeypatch)
    headers = api.as_("auditor1")
    api.token("city1")
    answer: list = []
    verifying = threading.Thread(
        target=lambda: answer.append(TestClient(api.app).get("/api/v1/audit/verify", headers=headers)),
        daemon=True,
    )
    verifying.start()
    try:
        assert inside.wait(40), "verify did not start reading"
        _others_work(api)
        assert verifying.is_alive()
    finally:
        release.set()
    verifying.join(30)
    assert answer[0].status_code == 200 and answer[0].json()["ok"]
