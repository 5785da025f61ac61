"""The Alembic migrations build exactly the schema the models describe, on both backends."""

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from canbao import migrate
from canbao.db import make_engine
from composition.schema import metadata

from .conftest import PG_ADMIN_URL


def test_migrated_schema_matches_models(any_db):
    with any_db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_case_state_is_compressed_with_lz4(db):
    with db.engine.connect() as conn:
        method = conn.scalar(
            text(
                "SELECT attcompression FROM pg_attribute "
                "WHERE attrelid = 'cases'::regclass AND attname = 'state'"
            )
        )
    assert method == "l"


@pytest.fixture
def empty_pg_url():
    name = f"canbao_test_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_audit_append_function_migrations_go_down_and_up(empty_pg_url):
    """0010 replaced audit_append(arrays) by audit_append_events(jsonb); going back restores the old one."""
    migrate.upgrade(empty_pg_url)
    command.downgrade(migrate.alembic_config(empty_pg_url), "0009")
    assert _functions(empty_pg_url) == {"audit_append"}
    migrate.upgrade(empty_pg_url)
    assert _functions(empty_pg_url) == {"audit_append_events"}


def _functions(url: str) -> set[str]:
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        names = conn.scalars(text("SELECT proname FROM pg_proc WHERE proname LIKE 'audit_append%'"))
        found = set(names)
    engine.dispose()
    return found


def test_persons_stored_before_0016_keep_their_number_as_their_document(empty_pg_url):
    """Until 0016 only 居民身份证 holders could be stored, keyed by their document's number."""
    migrate.upgrade(empty_pg_url, "0015")
    engine = make_engine(empty_pg_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (id, id_type, name, sex, birth_date, status, area, created_at, "
                "updated_at) VALUES ('11010519491231002X', '01', '张三', '2', '1949-12-31', 'normal', "
                "'110105', now(), now())"
            )
        )
    migrate.upgrade(empty_pg_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, document_number FROM person")).one()
    engine.dispose()
    assert tuple(row) == ("11010519491231002X", "11010519491231002X")
