"""Under load the office slows down and never stops (issue 23): many concurrent requests against a
small pool all get their answer, past the in-flight limit the server sheds with 503 problem+json and
Retry-After at once, and a database that drops its connections answers 503, then recovers.

The server is real (uvicorn on a free port, in a thread of this process) and so is the database
(PostgreSQL); the clients are threads with their own HTTP connections."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace

import httpx
import uvicorn
from sqlalchemy import Engine, text

from canbao.config import PROJECT_ROOT, Settings
from canbao.db import make_engine, make_sessionmaker
from composition.app import create_app
from engine.specs import SPECS

from ..engine.office import id_number
from .conftest import _HASH, PASSWORD, SECRET, population, seed_office

CLIENTS = 64
APP_NAME = "canbao-load-test"


@contextmanager
def serving(app) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


def _settings(db, tmp_path, **overrides) -> Settings:
    base = Settings(database_url=db.url, data_dir=tmp_path, bpmn_dir=PROJECT_ROOT / "bpmn", jwt_secret=SECRET)
    return replace(base, **overrides)


@dataclass
class Served:
    base: str
    token: str  # surveyor1's
    engine: Engine  # the app's


@contextmanager
def office(db, tmp_path, *, pool_size: int, settings: Settings | None = None) -> Iterator[Served]:
    """The served office on its own small pool (pool timeout 3 s, so that a stall shows as errors
    within the test's time), seeded with a few survey cases."""
    SPECS.clear()
    engine = make_engine(
        db.url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=3,
        connect_args={"application_name": APP_NAME},
    )
    app = create_app(settings or _settings(db, tmp_path), sessions=make_sessionmaker(engine))
    with db.sessions() as s, s.begin():
        seed_office(s, password_hash=_HASH)
    try:
        with serving(app) as base:
            token, platform = _token(base, "surveyor1"), _token(base, "platform1")
            for n in range(1, 6):
                person = id_number(seq=f"{n:03d}")
                population(db, person)
                r = httpx.post(
                    f"{base}/api/v1/cases",
                    headers={"Authorization": f"Bearer {platform}"},
                    json={"process": "survey_registration", "person_id": person, "area": "370102001002"},
                    timeout=30,
                )
                assert r.status_code == 201, r.text
            yield Served(base, token, engine)
    finally:
        engine.dispose()


def _token(base: str, user: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _burst(base: str, token: str, *, clients: int, each: int) -> list[int | str]:
    """`clients` threads, each sending `each` inbox pages over its own connection; the statuses (or
    the name of the error when no answer came within 20 s)."""
    barrier = threading.Barrier(clients)

    def one_client(_: int) -> list[int | str]:
        out: list[int | str] = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=20) as c:
            barrier.wait()
            for _ in range(each):
                try:
                    out.append(c.get("/api/v1/tasks", params={"limit": 50}).status_code)
                except httpx.HTTPError as err:
                    out.append(type(err).__name__)
        return out

    with ThreadPoolExecutor(clients) as pool:
        return [s for statuses in pool.map(one_client, range(clients)) for s in statuses]


def test_64_concurrent_inbox_pages_on_a_pool_of_two_all_get_their_page(db, tmp_path):
    """On the code before issue 23 every worker thread held one pooled connection and waited for a
    thread (or another connection) the others held: the pool timed out and the inbox answered 500."""
    with office(db, tmp_path, pool_size=2) as served:
        statuses = _burst(served.base, served.token, clients=CLIENTS, each=3)
        later = _inbox(served.base, served.token)
    assert statuses == [200] * (CLIENTS * 3), sorted(set(map(str, statuses)))
    assert later.status_code == 200 and len(later.json()["items"]) == 5


def _inbox(base: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{base}/api/v1/tasks", params={"limit": 50}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _assert_503(r: httpx.Response, code: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["code"] == code and r.json()["detail"]


@contextmanager
def inbox_locked(db) -> Iterator[None]:
    """Every inbox query waits (the test holds the task table) until the block ends."""
    with db.engine.connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE case_task IN ACCESS EXCLUSIVE MODE"))
        yield


def _in_background(pool: ThreadPoolExecutor, n: int, base: str, token: str) -> list:
    started = [pool.submit(_inbox, base, token) for _ in range(n)]
    time.sleep(1.5)  # they are in: two at the database, the rest waiting for a slot
    return started


def test_past_the_inflight_limit_the_next_request_gets_503_at_once(db, tmp_path):
    settings = _settings(db, tmp_path, max_inflight=3, queue_timeout_s=60)
    with office(db, tmp_path, pool_size=2, settings=settings) as served, ThreadPoolExecutor(3) as pool:
        base, token = served.base, served.token
        with inbox_locked(db):
            admitted = _in_background(pool, 3, base, token)
            began = time.monotonic()
            refused = _inbox(base, token)
            waited = time.monotonic() - began
        assert [f.result().status_code for f in admitted] == [200, 200, 200]
        after = _inbox(base, token)
    _assert_503(refused, "server.busy")
    assert waited < 1.0  # answered at once, not after a wait
    assert after.status_code == 200


def test_a_request_that_waits_past_the_queue_timeout_gets_503(db, tmp_path):
    settings = _settings(db, tmp_path, queue_timeout_s=1)
    with office(db, tmp_path, pool_size=2, settings=settings) as served, ThreadPoolExecutor(2) as pool:
        base, token = served.base, served.token
        with inbox_locked(db):
            working = _in_background(pool, 2, base, token)
            began = time.monotonic()
            late = _inbox(base, token)
            waited = time.monotonic() - began
        assert [f.result().status_code for f in working] == [200, 200]
    _assert_503(late, "server.busy")
    assert 0.9 < waited < 5


def test_a_pool_timeout_is_503_not_500(db, tmp_path):
    """Connections taken by something outside the request slots (here: the test) leave a request
    without one: after the pool's timeout it gets 503 problem+json."""
    with office(db, tmp_path, pool_size=2) as served:
        with served.engine.connect(), served.engine.connect():
            r = _inbox(served.base, served.token)
        after = _inbox(served.base, served.token)
    _assert_503(r, "database.busy")
    assert after.status_code == 200


def test_dropped_database_connections_answer_503_and_the_next_request_works(db, tmp_path):
    """Issue 17: an administrator (or a restart) ends the server's connections between two requests."""
    with office(db, tmp_path, pool_size=2) as served:
        assert _inbox(served.base, served.token).status_code == 200
        with db.engine.connect() as conn:
            ended = conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = :app"
                ),
                {"app": APP_NAME},
            )
        assert ended >= 1  # the connections the app had open
        dropped = _inbox(served.base, served.token)
        after = _inbox(served.base, served.token)
    _assert_503(dropped, "database.unavailable")
    assert after.status_code == 200 and len(after.json()["items"]) == 5
