"""A deployed script that never ends: the request fails with a problem naming the element, its transaction
rolls back and leaves no lock, and `canbao serve` still stops promptly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from canbao.config import PROJECT_ROOT
from composition.wiring import wire
from engine import definitions

from ..engine import samples
from ..engine.office import MANAGER, VILLAGE
from .conftest import _HASH, PASSWORD, SECRET, seed_office

# A new version of 柜面采集 whose first step is a script that never ends.
LOOPING = samples.process(
    samples.script_then_task("n = 0\nwhile True:\n    n += 1"), key="counter_collection"
)


def _deploy_looping(db) -> None:
    with db.sessions() as s, s.begin():
        definitions.deploy(s, actor=MANAGER, bpmn_xml=LOOPING)


def leftovers(db) -> list[tuple]:
    """Other sessions of this database still in a transaction, and the locks they hold."""
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT a.pid, a.state, l.locktype, l.mode FROM pg_stat_activity a "
                    "LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype <> 'virtualxid' "
                    "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
                    "AND (a.state LIKE 'idle in transaction%' OR a.state = 'active' OR l.pid IS NOT NULL)"
                )
            )
        )


def test_a_looping_script_is_a_problem_and_leaves_nothing_behind(api):
    _deploy_looping(api.db)
    body = {"process": "counter_collection", "area": VILLAGE}
    r = api.post("/cases", "counter1", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert (problem["code"], problem["task"]) == ("case.script_limit", "boom")
    assert "“计算”（boom）" in problem["detail"] and "300 毫秒" in problem["detail"]
    assert leftovers(api.db) == []
    assert api.post("/cases", "counter1", json=body).status_code == 422  # nothing waits on a lock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db, tmp_path):
    """`canbao serve` on the test database, with the office's users and the looping process deployed."""
    wire()
    with db.sessions() as s, s.begin():
        seed_office(s, password_hash=_HASH)
    _deploy_looping(db)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "CANBAO_DATA_DIR": str(tmp_path / "var"),
        "CANBAO_JWT_SECRET": SECRET,
        "CANBAO_BPMN_DIR": str(PROJECT_ROOT / "bpmn"),
    }
    env.pop("CANBAO_S3_ENDPOINT", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "canbao"), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "canbao serve did not start"
            time.sleep(0.2)
    try:
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_stops_promptly_on_sigterm_while_a_script_loops(db, server):
    process, base = server
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "counter1", "password": PASSWORD}, timeout=30
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"process": "counter_collection", "area": VILLAGE}

    first = httpx.post(f"{base}/api/v1/cases", json=body, headers=headers, timeout=30)
    assert first.status_code == 422 and first.json()["code"] == "case.script_limit"
    assert leftovers(db) == []

    answers: list[object] = []

    def start_case() -> None:
        try:
            answers.append(httpx.post(f"{base}/api/v1/cases", json=body, headers=headers, timeout=30))
        except httpx.TransportError as err:
            answers.append(err)

    client = threading.Thread(target=start_case)
    client.start()
    time.sleep(0.1)  # the script is running
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    process.wait(timeout=30)
    took = time.monotonic() - sent
    client.join(30)
    assert took < 10, f"canbao serve took {took:.1f} s to stop"
    assert answers and not client.is_alive()
    assert leftovers(db) == []
