"""The schema, generated from the models by scripts/regen-schema-migration (do not edit by hand).

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import canbao.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "roles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "audit_chain_head",
        sa.Column("chain", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("chain", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_sub", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column(
            "area",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("client_addr", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("person_id", sa.String(length=18), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_audit_event_chain_seq")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_action", ["action", "id"], unique=False)
        batch_op.create_index("ix_audit_event_actor", ["actor_sub", "id"], unique=False)
        batch_op.create_index("ix_audit_event_area", ["area", "id"], unique=False)
        batch_op.create_index("ix_audit_event_at", ["at"], unique=False, postgresql_using="brin")
        batch_op.create_index("ix_audit_event_case", ["case_id", "id"], unique=False)
        batch_op.create_index("ix_audit_event_person", ["person_id", "id"], unique=False)

    op.create_table(
        "comparison_run",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("rule_version", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column(
            "inputs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "diff", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("previous_run_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_sub", sa.String(length=64), nullable=False),
        sa.Column("started_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_run")),
    )
    with op.batch_alter_table("comparison_run", schema=None) as batch_op:
        batch_op.create_index("ix_comparison_run_area", ["area", "id"], unique=False)

    op.create_table(
        "county_authorization",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_from", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("revoked_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_county_authorization")),
    )
    with op.batch_alter_table("county_authorization", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_county_authorization_county"), ["county"], unique=False)

    op.create_table(
        "data_import",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejection_file", sa.String(length=300), nullable=True),
        sa.Column("actor_sub", sa.String(length=64), nullable=False),
        sa.Column("at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_import")),
        sa.UniqueConstraint("kind", "system", "sha256", name=op.f("uq_data_import_kind_system_sha256")),
    )
    op.create_table(
        "division",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("parent", sa.String(length=12), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "level IN ('province', 'city', 'county', 'township', 'village')", name=op.f("ck_division_level")
        ),
        sa.ForeignKeyConstraint(["parent"], ["division.code"], name=op.f("fk_division_parent_division")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_division")),
    )
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.create_index("ix_division_parent", ["parent", "code"], unique=False)

    op.create_table(
        "enrollment",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("person_id", sa.String(length=18), nullable=False),
        sa.Column("scheme", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("pay_status", sa.String(length=1), nullable=True),
        sa.Column("place", sa.String(length=12), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("elsewhere", sa.Boolean(), nullable=False),
        sa.Column("src_name", sa.String(length=64), nullable=True),
        sa.Column("src_birth_date", sa.Date(), nullable=True),
        sa.Column("recorded_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("import_id", sa.BigInteger(), nullable=True),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("exchange_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment")),
    )
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.create_index("ix_enrollment_person_id", ["person_id"], unique=False)
        batch_op.create_index(
            "uq_enrollment_current",
            ["person_id", "scheme", "source", "place"],
            unique=True,
            postgresql_where=sa.text("superseded_at IS NULL"),
            sqlite_where=sa.text("superseded_at IS NULL"),
        )

    op.create_table(
        "exchange_batch",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("origin_batch", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "cursor",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor_sub", sa.String(length=64), nullable=False),
        sa.Column("at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_batch")),
        sa.UniqueConstraint(
            "direction",
            "kind",
            "origin",
            "origin_batch",
            name=op.f("uq_exchange_batch_direction_kind_origin_origin_batch"),
        ),
    )
    op.create_table(
        "field_change",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("person_id", sa.String(length=18), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("import_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_sub", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_change")),
    )
    with op.batch_alter_table("field_change", schema=None) as batch_op:
        batch_op.create_index("ix_field_change_person_id", ["person_id", "id"], unique=False)

    op.create_table(
        "flag",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("person_id", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.String(length=200), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("raised_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raised_by_run_id", sa.BigInteger(), nullable=True),
        sa.Column("raised_by_sub", sa.String(length=64), nullable=True),
        sa.Column("last_seen_run_id", sa.BigInteger(), nullable=True),
        sa.Column("cleared_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_by_case_id", sa.BigInteger(), nullable=True),
        sa.Column("cleared_by_run_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag")),
    )
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.create_index("ix_flag_area_status", ["area", "status"], unique=False)
        batch_op.create_index("ix_flag_cleared_by_run_id", ["cleared_by_run_id"], unique=False)
        batch_op.create_index("ix_flag_person_id", ["person_id"], unique=False)
        batch_op.create_index("ix_flag_raised_by_run_id", ["raised_by_run_id"], unique=False)
        batch_op.create_index(
            "uq_flag_open",
            ["person_id", "kind"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "login_attempt",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=False),
        sa.Column("at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_addr", ["client_addr", "at"], unique=False)
        batch_op.create_index("ix_login_attempt_user", ["username", "at"], unique=False)

    op.create_table(
        "migration_job",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("from_definition_id", sa.BigInteger(), nullable=False),
        sa.Column("to_definition_id", sa.BigInteger(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column(
            "filter",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_job")),
    )
    with op.batch_alter_table("migration_job", schema=None) as batch_op:
        batch_op.create_index("ix_migration_job_key", ["process_key", "id"], unique=False)

    op.create_table(
        "person",
        sa.Column("id", sa.String(length=18), nullable=False),
        sa.Column("id_type", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ethnicity", sa.String(length=2), nullable=True),
        sa.Column("hukou_division", sa.String(length=12), nullable=True),
        sa.Column("hukou_address", sa.String(length=200), nullable=True),
        sa.Column("hukou_nature", sa.String(length=2), nullable=True),
        sa.Column("residence_division", sa.String(length=12), nullable=True),
        sa.Column("residence_address", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("employment_status", sa.String(length=8), nullable=True),
        sa.Column("employer", sa.String(length=200), nullable=True),
        sa.Column("uninsured_reason_code", sa.String(length=8), nullable=True),
        sa.Column("uninsured_reason_text", sa.String(length=200), nullable=True),
        sa.Column("insured_elsewhere", sa.Boolean(), nullable=True),
        sa.Column(
            "guardian",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("registered_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("registered_case_id", sa.BigInteger(), nullable=True),
        sa.Column("identity_source", sa.String(length=32), nullable=True),
        sa.Column("identity_confirmed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hukou_source", sa.String(length=32), nullable=True),
        sa.Column("hukou_confirmed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("residence_source", sa.String(length=32), nullable=True),
        sa.Column("residence_confirmed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("contact_source", sa.String(length=32), nullable=True),
        sa.Column("contact_confirmed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("employment_source", sa.String(length=32), nullable=True),
        sa.Column("employment_confirmed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status_source", sa.String(length=32), nullable=True),
        sa.Column("status_confirmed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_area", ["area"], unique=False)
        batch_op.create_index("ix_person_residence_division", ["residence_division"], unique=False)

    op.create_table(
        "person_version",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("person_id", sa.String(length=18), nullable=False),
        sa.Column("valid_from", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("hukou_division", sa.String(length=12), nullable=True),
        sa.Column("residence_division", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("insured_elsewhere", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_version")),
    )
    with op.batch_alter_table("person_version", schema=None) as batch_op:
        batch_op.create_index("ix_person_version_area_valid_from", ["area", "valid_from"], unique=False)
        batch_op.create_index("ix_person_version_person_id", ["person_id", "valid_from"], unique=False)
        batch_op.create_index(
            "uq_person_version_current",
            ["person_id"],
            unique=True,
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        )

    op.create_table(
        "process_definition",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column(
            "dmn", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("deployed_by", sa.String(length=64), nullable=False),
        sa.Column("deployed_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("published_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_definition")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_process_definition_key_version")),
    )
    op.create_table(
        "process_definition_deleted",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("deleted_by", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_definition_deleted")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_process_definition_deleted_key_version")),
    )
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_token")),
    )
    op.create_table(
        "stats_checkpoint",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column(
            "area",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=24), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "area", "key", name=op.f("pk_stats_checkpoint")),
    )
    op.create_table(
        "stats_delta",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "area",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=24), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "area", "key", name=op.f("pk_stats_delta")),
    )
    op.create_table(
        "stats_dirty",
        sa.Column("person_id", sa.String(length=18), nullable=False),
        sa.Column("marked_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_stats_dirty")),
    )
    op.create_table(
        "stats_span",
        sa.Column("person_id", sa.String(length=18), nullable=False),
        sa.Column("day_from", sa.Date(), nullable=False),
        sa.Column("day_to", sa.Date(), nullable=True),
        sa.Column(
            "area",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "day_from", name=op.f("pk_stats_span")),
    )
    with op.batch_alter_table("stats_span", schema=None) as batch_op:
        batch_op.create_index("ix_stats_span_area", ["area", "day_from"], unique=False)

    op.create_table(
        "stats_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_version", sa.String(length=32), nullable=False),
        sa.Column("built_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("persons_refreshed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_state")),
    )
    op.create_table(
        "survey_team",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_team")),
    )
    with op.batch_alter_table("survey_team", schema=None) as batch_op:
        batch_op.create_index("ix_survey_team_area", ["area"], unique=False)

    op.create_table(
        "cases",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("definition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_detail", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column(
            "area",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("person_id", sa.String(length=18), nullable=True),
        sa.Column("person_name", sa.String(length=64), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["process_definition.id"],
            name=op.f("fk_cases_definition_id_process_definition"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_case_area", ["area", "id"], unique=False)
        batch_op.create_index("ix_case_status", ["process_key", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_definition_id"), ["definition_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "uq_cases_open_per_person",
            ["process_key", "person_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('running', 'waiting') AND person_id IS NOT NULL"),
            sqlite_where=sa.text("status IN ('running', 'waiting') AND person_id IS NOT NULL"),
        )

    op.create_table(
        "comparison_count",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("klass", sa.String(length=24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["comparison_run.id"],
            name=op.f("fk_comparison_count_run_id_comparison_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "division", "klass", name=op.f("pk_comparison_count")),
    )
    op.create_table(
        "survey_team_member",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("card_no", sa.String(length=32), nullable=False),
        sa.Column("user_sub", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["survey_team.id"],
            name=op.f("fk_survey_team_member_team_id_survey_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_team_member")),
        sa.UniqueConstraint("card_no", name=op.f("uq_survey_team_member_card_no")),
    )
    with op.batch_alter_table("survey_team_member", schema=None) as batch_op:
        batch_op.create_index("ix_survey_team_member_team_id", ["team_id"], unique=False)

    op.create_table(
        "archive_package",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "manifest_key",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("manifest_version", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("protection", sa.String(length=16), nullable=False),
        sa.Column("retention_class", sa.String(length=32), nullable=False),
        sa.Column("retain_until", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("audit_event_id", sa.BigInteger(), nullable=True),
        sa.Column("audit_event_hash", sa.String(length=64), nullable=True),
        sa.Column("sealed_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_archive_package_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_package")),
        sa.UniqueConstraint("case_id", name=op.f("uq_archive_package_case_id")),
    )
    with op.batch_alter_table("archive_package", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_archive_package_manifest_key"), ["manifest_key"], unique=False)

    op.create_table(
        "case_task",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_guid", sa.String(length=36), nullable=False),
        sa.Column("spec_name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column(
            "area",
            sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("form_key", sa.String(length=64), nullable=True),
        sa.Column("person_id", sa.String(length=18), nullable=True),
        sa.Column("person_name", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_task_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_task")),
        sa.UniqueConstraint("task_guid", name=op.f("uq_case_task_task_guid")),
    )
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_task_assignee",
            ["assignee", "due_at", "id"],
            unique=False,
            postgresql_where=sa.text("state = 'ready'"),
            sqlite_where=sa.text("state = 'ready'"),
        )
        batch_op.create_index(batch_op.f("ix_case_task_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_case_task_inbox",
            ["role", "area", "due_at", "id"],
            unique=False,
            postgresql_where=sa.text("state = 'ready'"),
            sqlite_where=sa.text("state = 'ready'"),
        )
        batch_op.create_index(
            "ix_case_task_person",
            ["person_id"],
            unique=False,
            postgresql_where=sa.text("state = 'ready'"),
            sqlite_where=sa.text("state = 'ready'"),
        )

    op.create_table(
        "case_wakeup",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_guid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=True),
        sa.Column("due_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_wakeup_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_wakeup")),
        sa.UniqueConstraint("task_guid", "kind", name=op.f("uq_case_wakeup_task_guid_kind")),
    )
    with op.batch_alter_table("case_wakeup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_wakeup_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_wakeup_due_at"), ["due_at"], unique=False)

    op.create_table(
        "document",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_guid", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "object_key",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("object_version", sa.String(length=200), nullable=True),
        sa.Column("retention_class", sa.String(length=32), nullable=False),
        sa.Column("retain_until", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sealed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_document_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
        sa.UniqueConstraint("case_id", "sha256", name=op.f("uq_document_case_id_sha256")),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_object_key"), ["object_key"], unique=False)

    op.create_table(
        "migration_item",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("processed_at", canbao.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_migration_item_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["migration_job.id"], name=op.f("fk_migration_item_job_id_migration_job")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_item")),
    )
    with op.batch_alter_table("migration_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_migration_item_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_migration_item_job", ["job_id", "outcome", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("migration_item", schema=None) as batch_op:
        batch_op.drop_index("ix_migration_item_job")
        batch_op.drop_index(batch_op.f("ix_migration_item_case_id"))

    op.drop_table("migration_item")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_object_key"))
        batch_op.drop_index(batch_op.f("ix_document_case_id"))

    op.drop_table("document")
    with op.batch_alter_table("case_wakeup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_wakeup_due_at"))
        batch_op.drop_index(batch_op.f("ix_case_wakeup_case_id"))

    op.drop_table("case_wakeup")
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_case_task_person",
            postgresql_where=sa.text("state = 'ready'"),
            sqlite_where=sa.text("state = 'ready'"),
        )
        batch_op.drop_index(
            "ix_case_task_inbox",
            postgresql_where=sa.text("state = 'ready'"),
            sqlite_where=sa.text("state = 'ready'"),
        )
        batch_op.drop_index(batch_op.f("ix_case_task_case_id"))
        batch_op.drop_index(
            "ix_case_task_assignee",
            postgresql_where=sa.text("state = 'ready'"),
            sqlite_where=sa.text("state = 'ready'"),
        )

    op.drop_table("case_task")
    with op.batch_alter_table("archive_package", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_package_manifest_key"))

    op.drop_table("archive_package")
    with op.batch_alter_table("survey_team_member", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_team_member_team_id")

    op.drop_table("survey_team_member")
    op.drop_table("comparison_count")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_cases_open_per_person",
            postgresql_where=sa.text("status IN ('running', 'waiting') AND person_id IS NOT NULL"),
            sqlite_where=sa.text("status IN ('running', 'waiting') AND person_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_cases_person_id"))
        batch_op.drop_index(batch_op.f("ix_cases_definition_id"))
        batch_op.drop_index("ix_case_status")
        batch_op.drop_index("ix_case_area")

    op.drop_table("cases")
    with op.batch_alter_table("survey_team", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_team_area")

    op.drop_table("survey_team")
    op.drop_table("stats_state")
    with op.batch_alter_table("stats_span", schema=None) as batch_op:
        batch_op.drop_index("ix_stats_span_area")

    op.drop_table("stats_span")
    op.drop_table("stats_dirty")
    op.drop_table("stats_delta")
    op.drop_table("stats_checkpoint")
    op.drop_table("revoked_token")
    op.drop_table("process_definition_deleted")
    op.drop_table("process_definition")
    with op.batch_alter_table("person_version", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_person_version_current",
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        )
        batch_op.drop_index("ix_person_version_person_id")
        batch_op.drop_index("ix_person_version_area_valid_from")

    op.drop_table("person_version")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_residence_division")
        batch_op.drop_index("ix_person_area")

    op.drop_table("person")
    with op.batch_alter_table("migration_job", schema=None) as batch_op:
        batch_op.drop_index("ix_migration_job_key")

    op.drop_table("migration_job")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_user")
        batch_op.drop_index("ix_login_attempt_addr")

    op.drop_table("login_attempt")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_flag_open",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_flag_raised_by_run_id")
        batch_op.drop_index("ix_flag_person_id")
        batch_op.drop_index("ix_flag_cleared_by_run_id")
        batch_op.drop_index("ix_flag_area_status")

    op.drop_table("flag")
    with op.batch_alter_table("field_change", schema=None) as batch_op:
        batch_op.drop_index("ix_field_change_person_id")

    op.drop_table("field_change")
    op.drop_table("exchange_batch")
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_enrollment_current",
            postgresql_where=sa.text("superseded_at IS NULL"),
            sqlite_where=sa.text("superseded_at IS NULL"),
        )
        batch_op.drop_index("ix_enrollment_person_id")

    op.drop_table("enrollment")
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.drop_index("ix_division_parent")

    op.drop_table("division")
    op.drop_table("data_import")
    with op.batch_alter_table("county_authorization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_county_authorization_county"))

    op.drop_table("county_authorization")
    with op.batch_alter_table("comparison_run", schema=None) as batch_op:
        batch_op.drop_index("ix_comparison_run_area")

    op.drop_table("comparison_run")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_person")
        batch_op.drop_index("ix_audit_event_case")
        batch_op.drop_index("ix_audit_event_at", postgresql_using="brin")
        batch_op.drop_index("ix_audit_event_area")
        batch_op.drop_index("ix_audit_event_actor")
        batch_op.drop_index("ix_audit_event_action")

    op.drop_table("audit_event")
    op.drop_table("audit_chain_head")
    op.drop_table("app_user")
