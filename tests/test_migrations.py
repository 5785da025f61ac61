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


def test_the_inbox_level_indexes_survive_every_migration(any_db):
    """0003's expression indexes, which batch alterations on SQLite drop unless they recreate them."""
    with any_db.engine.connect() as conn:
        if any_db.engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'case_task'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'case_task'"
        names = set(conn.scalars(text(query)))
    inbox = {f"ix_case_task_inbox_{level}{age}" for level in ("county", "township") for age in ("", "_age")}
    assert inbox <= names


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


def test_packages_archived_before_0017_get_their_classification_and_numbers(empty_pg_url):
    """0017 classifies what was archived before it: year of archiving (China time), 业务环节 by process,
    outcome from the case's last decision, numbered per series in the order archived."""
    config = migrate.alembic_config(empty_pg_url)
    command.upgrade(config, "0015")
    engine = make_engine(empty_pg_url, poolclass=NullPool)
    cases = [  # case id, process, archived at (UTC), decisions
        (1, "survey_registration", "2025-12-31 16:30:00+00", ["approve", "approve"]),  # 2026 in China
        (2, "survey_registration", "2026-03-01 02:00:00+00", ["approve", "reject"]),
        (3, "id_correction", "2026-03-02 02:00:00+00", ["approve", "reject"]),
        (4, "survey_registration", "2026-03-03 02:00:00+00", ["return", "approve", "approve"]),
        (5, "drawn_later", "2026-03-04 02:00:00+00", []),
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO process_definition (id, key, version, name, bpmn_xml, dmn, sha256, deployed_by, "
                "deployed_at) VALUES (1, 'p', 1, 'p', '<x/>', '{}', '', 'm', now())"
            )
        )
        for case_id, process, at, decisions in cases:
            conn.execute(
                text(
                    "INSERT INTO cases (id, definition_id, process_key, status, area, state, version, "
                    "created_by, created_at, updated_at) "
                    "VALUES (:id, 1, :p, 'completed', '370102001002', '{}', 1, 'm', now(), now())"
                ),
                {"id": case_id, "p": process},
            )
            conn.execute(
                text(
                    "INSERT INTO archive_package (case_id, manifest_key, sha256, size, documents, "
                    "protection, retention_class, retain_until, sealed_at) VALUES (:id, :key, '', 1, 0, "
                    "'compliance', 'personal_registration', '2127-01-01', CAST(:at AS timestamptz))"
                ),
                {"id": case_id, "key": f"cases/{case_id}/m.json", "at": at},
            )
            for seq, decision in enumerate(decisions):
                conn.execute(
                    text(
                        "INSERT INTO audit_event (chain, seq, at, actor_sub, actor_role, area, action, "
                        "object_type, object_id, case_id, payload, prev_hash, hash) VALUES (0, :seq, now(), "
                        "'u', 'r', '370102', 'task.complete', 'task', 't', :id, :payload, '', '')"
                    ),
                    {
                        "seq": case_id * 10 + seq,
                        "id": case_id,
                        "payload": f'{{"data": {{"decision": "{decision}"}}}}',
                    },
                )
    migrate.upgrade(empty_pg_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT case_id, archive_no, archive_year, step, outcome "
                "FROM archive_package ORDER BY case_id"
            )
        ).all()
        series = dict(conn.execute(text("SELECT series, last_item FROM archive_series")).all())
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "370102-2026-D100-RYDJ-DJ-ZY-000001", 2026, "DJ", "approved"),
        (2, "370102-2026-D100-RYDJ-DJ-BY-000001", 2026, "DJ", "rejected"),
        (3, "370102-2026-D100-RYDJ-GZ-BY-000001", 2026, "GZ", "rejected"),
        (4, "370102-2026-D100-RYDJ-DJ-ZY-000002", 2026, "DJ", "approved"),
        (5, "370102-2026-D100-RYDJ-QT-ZY-000001", 2026, "QT", "approved"),
    ]
    assert series["370102-2026-D100-RYDJ-DJ-ZY"] == 2  # the next one archived is 000003


def test_persons_stored_before_0018_keep_their_number_as_their_document(empty_pg_url):
    """Until 0018 only 居民身份证 holders could be stored, keyed by their document's number."""
    migrate.upgrade(empty_pg_url, "0017")
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
