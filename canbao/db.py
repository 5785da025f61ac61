"""Database plumbing shared by every package: the declarative base, column types, engines, sessions.

The caller owns the transaction (`with session.begin(): ...`): services never commit, so one action
(engine step + inbox projection + audit + registry write) commits or rolls back as a whole.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Insert, MetaData, String, Table, and_, create_engine, event, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from .config import Settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on PostgreSQL and SQLite alike (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; store times in UTC with tzinfo")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")

# Administrative division codes (2 to 12 digits). On PostgreSQL they use the "C" collation so that
# prefix ranges ("every area under 370102") are byte ranges a btree index can serve in any locale.
AreaCode = String(12).with_variant(String(12, collation="C"), "postgresql")


def prefix_next(prefix: str) -> str | None:
    """The smallest digit string greater than every string that starts with `prefix` ("3709" → "371")."""
    digits = prefix.rstrip("9")
    if not digits:
        return None
    return digits[:-1] + str(int(digits[-1]) + 1)


def area_within(column, prefix: str | None):
    """`column` is `prefix` or under it (`370102` covers `370102001002`), as a range a btree index
    serves; no prefix means everywhere."""
    if not prefix:
        return true()
    upper = prefix_next(prefix)
    return and_(column >= prefix, column < upper) if upper else column >= prefix


def insert_missing(session: Session, table: Table) -> Insert:
    """INSERT that skips rows a unique constraint already holds (ON CONFLICT DO NOTHING on both
    PostgreSQL and SQLite)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


# A pooled PostgreSQL connection is pinged before use only once it has sat idle this long. A ping is a
# round trip on every checkout (a sixth of a lifecycle's), and a connection handed back seconds ago
# has just shown the server alive. Should the server restart inside the window, the first statement
# on such a connection fails and SQLAlchemy then discards every connection the pool held.
PING_AFTER_IDLE_S = 10.0


# Connections a process keeps beyond its request slots: for work outside a request's slot (a background
# audit verification, the readiness probe, the upload route's clean-up).
POOL_SPARE = 4
# A request never waits this long for a connection (it holds a slot that guarantees one, api/slots.py);
# should it happen all the same, it fails fast as 503 rather than after SQLAlchemy's 30 s.
POOL_TIMEOUT_S = 10.0


def make_engine(
    url: str,
    *,
    ping_after_idle_s: float = PING_AFTER_IDLE_S,
    transaction_pooler: bool = False,
    **kwargs: Any,
) -> Engine:
    """An engine for `url`. `transaction_pooler`: a pooler in transaction mode (PgBouncer) stands between
    us and PostgreSQL, so psycopg prepares no statements (the next transaction may run on another server
    connection, which has never seen them)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if transaction_pooler:
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "prepare_threshold": None}
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle_s)
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine of a process sized by its settings: `db_pool` connections for as many request slots,
    and a few spare."""
    if settings.is_sqlite:  # SQLAlchemy's own pool for the file (or the one connection in memory)
        return make_engine(settings.database_url)
    return make_engine(
        settings.database_url,
        transaction_pooler=settings.db_transaction_pooler,
        pool_size=settings.db_pool,
        max_overflow=POOL_SPARE,
        pool_timeout=POOL_TIMEOUT_S,
    )


def _ping_when_idle(engine: Engine, after_s: float) -> None:
    def checkin(dbapi_connection, record) -> None:
        if dbapi_connection is not None:  # None when the connection was invalidated
            record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection, record, _proxy) -> None:
        # A connection without the mark was opened just now.
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < after_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            raise DisconnectionError("idle connection is gone") from err  # the pool reconnects

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


# The execution option of a connection that only reads (`read_snapshot`).
READ_ONLY = "canbao_read_only"


def _sqlite_begin(conn) -> None:
    # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that a read-then-write
    # transaction holds the write lock from its start (SELECT … FOR UPDATE's stand-in). A read-only
    # transaction takes no lock: in WAL mode it reads one snapshot while writers go on.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def read_snapshot(session: Session) -> None:
    """Begin `session` (not yet begun) as a read-only transaction over one snapshot that holds nobody
    up: REPEATABLE READ on PostgreSQL, a deferred BEGIN on SQLite (no write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    else:
        session.connection(execution_options={READ_ONLY: True})


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; BEGIN comes from the "begin" hook
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One action, one transaction: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session
