"""The office behind PgBouncer in transaction pooling mode (issue 23), the production shape: the test
starts its own PgBouncer (Debian's `pgbouncer`, installed by .ci/run) on a free port in front of the
test PostgreSQL, with fewer server connections than the app has clients, and runs a slice of an
office day through it: start cases, complete their tasks, the inbox, the audit log and its verify.

In transaction mode consecutive transactions of one client connection run on whichever server
connection is free, so a statement psycopg prepared on one is unknown on the next: the engine is made
with CANBAO_DB_TRANSACTION_POOLER (prepare_threshold=None)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from canbao.config import PROJECT_ROOT, Settings
from canbao.db import engine_for, make_sessionmaker
from composition.app import create_app
from engine.specs import SPECS

from ..engine.office import APPROVE, VILLAGE, id_number, registration
from .conftest import _HASH, SECRET, Api, seed_office

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SERVER_CONNECTIONS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pgbouncer() -> Iterator[int]:
    """A PgBouncer in transaction mode on a free port, in front of 127.0.0.1:5432; yields its port."""
    with tempfile.TemporaryDirectory(prefix="canbao-pgbouncer-") as name:
        yield from _pgbouncer(Path(name))


def _pgbouncer(folder: Path) -> Iterator[int]:
    port = _free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
logfile = {folder}/pgbouncer.log
"""
    )
    command = [PGBOUNCER, "-q", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command[1:1] = ["-u", "postgres"]
        uid = pwd.getpwnam("postgres").pw_uid
        for path in (folder, *folder.iterdir()):
            os.chown(path, uid, -1)
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, (folder / "pgbouncer.log").read_text()
                assert time.monotonic() < deadline, "pgbouncer did not start"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def bounced(db, pgbouncer, tmp_path) -> Iterator[Api]:
    """The app with its connections through PgBouncer; the test's own reads go straight to the database."""
    SPECS.clear()
    url = make_url(db.url).set(port=pgbouncer).render_as_string(hide_password=False)
    settings = Settings(
        database_url=url,
        data_dir=tmp_path,
        bpmn_dir=PROJECT_ROOT / "bpmn",
        jwt_secret=SECRET,
        db_pool=8,
        db_transaction_pooler=True,
    )
    engine = engine_for(settings)
    app = create_app(settings, sessions=make_sessionmaker(engine))  # wires the service tasks
    with db.sessions() as s, s.begin():
        seed_office(s, password_hash=_HASH)
    with TestClient(app) as client:
        yield Api(client, db)
    engine.dispose()


def test_the_engine_prepares_no_statements_behind_a_transaction_pooler(bounced):
    with bounced.app.state.sessions() as s:
        connection = s.connection().connection.dbapi_connection
        assert connection.prepare_threshold is None
        assert s.scalar(text("SELECT current_setting('application_name')")) is not None


def _ready(api: Api, user: str, person: str) -> dict:
    items = api.get("/tasks", user, params={"q": person}).json()["items"]
    assert len(items) == 1, items
    return items[0]


def _complete(api: Api, user: str, task: dict, data: dict) -> None:
    detail = api.get(f"/tasks/{task['id']}", user).json()
    r = api.post(
        f"/tasks/{task['id']}/complete", user, json=data, headers={"If-Match": str(detail["case_version"])}
    )
    assert r.status_code == 200, r.text


def _survey(api: Api, person: str) -> int:
    r = api.post(
        "/cases",
        "platform1",
        json={"process": "survey_registration", "person_id": person, "area": VILLAGE, "team_id": 1},
    )
    assert r.status_code == 201, r.text
    _complete(api, "surveyor1", _ready(api, "surveyor1", person), registration(person))
    _complete(api, "platform1", _ready(api, "platform1", person), APPROVE)
    _complete(api, "county1", _ready(api, "county1", person), APPROVE)
    return r.json()["id"]


def test_an_office_day_through_pgbouncer(bounced):
    people = [id_number(seq=f"{n:03d}") for n in range(1, 9)]
    bounced.population(*people)
    for user in ("platform1", "surveyor1", "county1", "auditor1"):
        bounced.token(user)
    # More clients at once than PgBouncer has server connections: each transaction takes whichever
    # is free, and the statements psycopg would have prepared on another would be missing.
    with ThreadPoolExecutor(4) as pool:
        case_ids = list(pool.map(lambda p: _survey(bounced, p), people))
        pages = list(pool.map(lambda _: bounced.get("/tasks", "county1", params={"limit": 50}), range(40)))
    assert all(r.status_code == 200 for r in pages)

    for case_id in case_ids:
        case = bounced.get(f"/cases/{case_id}", "county1").json()
        assert case["status"] == "waiting", case
    record = bounced.get(f"/persons/{people[0]}", "county1").json()
    assert record["name"] == "张三"
    events = bounced.get("/audit/events", "auditor1", params={"limit": 200}).json()
    assert {"case.start", "task.complete", "person.read"} <= {e["action"] for e in events["items"]}
    report = bounced.get("/audit/verify", "auditor1").json()
    assert report["ok"] is True, report
