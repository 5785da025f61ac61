"""An office with paperwork in the run's S3 server to back up, and empty deployments to restore into:
a new PostgreSQL database (migrated, as an operator would leave it) or a SQLite file not yet there,
a new bucket with object lock, a new data directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from archive.store import S3Store
from backup.deployment import Deployment
from canbao import migrate
from canbao.actors import Actor
from canbao.config import PROJECT_ROOT, Settings
from canbao.db import make_engine, make_sessionmaker
from composition.app import create_app
from engine import worker
from engine.specs import SPECS

from ..api.conftest import SECRET, Api
from ..archive.conftest import JPEG, PDF, ArchiveApi, bucket_name, make_api
from ..conftest import PG_ADMIN_URL, Database, crypto_profile
from ..engine.office import APPROVE, registration

KEY = bytes(range(32))
OPERATOR = Actor(sub="cli", roles=("system",), area="", name="命令行")
COUNTED = ("person", "cases", "case_task", "audit_event", "document", "archive_package")


@contextmanager
def new_pg_database(*, migrated: bool, crypto: str | None = None) -> Iterator[Database]:
    name = f"canbao_test_backup_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        if migrated:
            with crypto_profile(crypto):
                migrate.upgrade(url)
        engine = make_engine(url, poolclass=NullPool)
        yield Database(url, engine, make_sessionmaker(engine))
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def new_sqlite_database(path: Path, *, migrated: bool, crypto: str | None = None) -> Iterator[Database]:
    url = f"sqlite:///{path}"
    if migrated:
        with crypto_profile(crypto):
            migrate.upgrade(url)
    engine = make_engine(url)
    yield Database(url, engine, make_sessionmaker(engine))
    engine.dispose()


@dataclass
class Office:
    """A source deployment: case A sealed, case B waiting for 县级审定 with two documents, an anchor."""

    api: ArchiveApi
    sealed_case: int
    waiting_case: int
    waiting_person: str

    @property
    def deployment(self) -> Deployment:
        return Deployment(self.api.db.url, self.api.app.state.archive, self.api.settings.data_dir)


def build_office(db: Database, tmp_path: Path, s3) -> Office:
    from canbao.audit import anchors

    api = make_api(db, tmp_path, s3)
    sealed, person = api.start_survey()
    assert api.upload(sealed, "surveyor1", PDF).status_code == 201
    api.approve_to_sealing(sealed, person)
    assert worker.run_due(db.sessions) == 1
    waiting, other = api.start_survey()
    assert api.upload(waiting, "surveyor1", PDF + b"B").status_code == 201
    assert api.upload(waiting, "surveyor1", JPEG, kind="id_card_front").status_code == 201
    api.complete("surveyor1", waiting, registration(other))
    api.complete("platform1", waiting, APPROVE)
    with db.sessions() as s, s.begin():
        anchors.write(s, api.app.state.archive, actor=OPERATOR, data_dir=api.settings.data_dir)
    return Office(api, sealed, waiting, other)


def counts(db: Database, tables=COUNTED) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: conn.execute(select(func.count()).select_from(text(f'"{t}"'))).scalar() for t in tables}


def target_store(s3) -> S3Store:
    return S3Store(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, bucket=bucket_name())


def serve(target: Database, data_dir: Path, store: S3Store, s3) -> Api:
    """The API on a restored deployment (its users, processes and cases came with the backup)."""
    SPECS.clear()
    settings = Settings(
        database_url=target.url,
        data_dir=data_dir,
        bpmn_dir=PROJECT_ROOT / "bpmn",
        jwt_secret=SECRET,
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
        s3_bucket=store.bucket,
    )
    return Api(TestClient(create_app(settings, sessions=target.sessions)), target)


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(request) -> str:
    return request.param
