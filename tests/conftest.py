"""Real databases for tests: a PostgreSQL database created for this run (dropped at the end) and a
SQLite file, both migrated to head with Alembic. Each test starts from empty tables.

The S3 server is SeaweedFS `weed mini`, started once for the run on 127.0.0.1 unless
CANBAO_TEST_S3_ENDPOINT (with CANBAO_TEST_S3_ACCESS_KEY and CANBAO_TEST_S3_SECRET_KEY) names a running
one; point that only at a throwaway server, since sealing tests leave objects under 100-year retention."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from archive.seaweed import WeedServer
from canbao import migrate
from canbao.audit.chain import CHAINS, GENESIS
from canbao.db import make_engine, make_sessionmaker
from composition.schema import metadata

PG_ADMIN_URL = os.environ.get("CANBAO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def reset(self) -> None:
        # The installation row (the cryptography profile) belongs to the database, like its schema.
        tables = [f'"{t.name}"' for t in reversed(metadata.sorted_tables) if t.name != "installation"]
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # The audit tables refuse TRUNCATE (migration 0005); as their owner, lift that for
                # this transaction only.
                for name in ("audit_event", "audit_chain_head"):
                    conn.execute(text(f"ALTER TABLE {name} DISABLE TRIGGER USER"))
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                for name in ("audit_event", "audit_chain_head"):
                    conn.execute(text(f"ALTER TABLE {name} ENABLE TRIGGER USER"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(
                text("INSERT INTO audit_chain_head (chain, seq, hash) VALUES (:c, 0, :h)"),
                [{"c": c, "h": GENESIS} for c in range(CHAINS)],
            )


@contextmanager
def crypto_profile(name: str | None) -> Iterator[None]:
    """CANBAO_CRYPTO set to `name` (unset for None) while a database is installed."""
    saved = os.environ.pop("CANBAO_CRYPTO", None)
    if name:
        os.environ["CANBAO_CRYPTO"] = name
    try:
        yield
    finally:
        os.environ.pop("CANBAO_CRYPTO", None)
        if saved is not None:
            os.environ["CANBAO_CRYPTO"] = saved


def _pg_database(crypto: str | None = None) -> Iterator[Database]:
    name = f"canbao_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with crypto_profile(crypto):
            migrate.upgrade(url)
        engine = make_engine(url, pool_size=10, max_overflow=20)
        yield Database(url, engine, make_sessionmaker(engine))
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sqlite_database(folder: Path, crypto: str | None = None) -> Iterator[Database]:
    url = f"sqlite:///{folder / 'canbao.db'}"
    with crypto_profile(crypto):
        migrate.upgrade(url)
    engine = make_engine(url)
    yield Database(url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    yield from _pg_database()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _sqlite_database(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def gm_pg_database() -> Iterator[Database]:
    """PostgreSQL installed under the national cryptography profile (CANBAO_CRYPTO=gm)."""
    yield from _pg_database("gm")


@pytest.fixture(scope="session")
def gm_sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _sqlite_database(tmp_path_factory.mktemp("sqlite-gm"), "gm")


@pytest.fixture
def db(pg_database: Database) -> Database:
    """PostgreSQL, emptied."""
    pg_database.reset()
    return pg_database


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db(request: pytest.FixtureRequest) -> Database:
    """Each backend in turn, emptied."""
    database: Database = request.getfixturevalue(
        f"{'pg' if request.param == 'postgresql' else 'sqlite'}_database"
    )
    database.reset()
    return database


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    endpoint = os.environ.get("CANBAO_TEST_S3_ENDPOINT")
    if endpoint:
        yield S3Server(
            endpoint, os.environ["CANBAO_TEST_S3_ACCESS_KEY"], os.environ["CANBAO_TEST_S3_SECRET_KEY"]
        )
        return
    weed = WeedServer.from_environ(tmp_path_factory.mktemp("weed")).start()
    try:
        yield S3Server(weed.endpoint, weed.access_key, weed.secret_key)
    finally:
        weed.stop()
