"""Pooled PostgreSQL connections: pinged before use only after sitting idle, and replaced when the ping
finds them gone (the server restarted, or an administrator ended the backend)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from canbao.db import make_engine

from .conftest import Database


def _engine(db: Database, ping_after_idle_s: float) -> Iterator[tuple[Engine, list[int]]]:
    engine = make_engine(db.url, pool_size=1, max_overflow=0, ping_after_idle_s=ping_after_idle_s)
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted
    yield engine, pings
    engine.dispose()


@pytest.fixture
def eager(pg_database: Database) -> Iterator[tuple[Engine, list[int]]]:
    """Every checkout of a used connection counts as idle."""
    yield from _engine(pg_database, 0.0)


@pytest.fixture
def lazy(pg_database: Database) -> Iterator[tuple[Engine, list[int]]]:
    yield from _engine(pg_database, 3600.0)


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def _terminate(db: Database, pid: int) -> None:
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})


def test_a_connection_back_from_use_a_moment_ago_is_not_pinged(lazy):
    engine, pings = lazy
    first = _backend(engine)
    assert _backend(engine) == first  # the same pooled connection, reused
    assert pings == []


def test_an_idle_connection_that_is_gone_is_replaced_before_the_statement_runs(pg_database, eager):
    engine, pings = eager
    first = _backend(engine)
    _terminate(pg_database, first)
    second = _backend(engine)  # no error reaches the caller
    assert second != first
    assert pings == [1]


def test_inside_the_window_a_dead_connection_fails_once_and_the_pool_recovers(pg_database, lazy):
    engine, _ = lazy
    first = _backend(engine)
    _terminate(pg_database, first)
    with pytest.raises(OperationalError):
        _backend(engine)
    assert _backend(engine) != first
