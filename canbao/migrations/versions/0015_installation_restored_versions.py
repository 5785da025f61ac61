"""The installation table and its row: the cryptography profile chosen when the database is installed
(CANBAO_CRYPTO, `standard` when unset), and under the national profile on PostgreSQL the chaining
function hashing with SM3. Also the table of object versions written by a restore
(`archive.models.RestoredVersion`).

PostgreSQL computes SM3 with pgcrypto's digest(), which hands the name to OpenSSL. Where pgcrypto
cannot be installed or its OpenSSL lacks SM3, audit_append_events() is dropped instead and the
chains are appended and verified in Python (`canbao.crypto.installation.Setup`).

`apply` is also what `canbao migrate` runs to change the profile of a database whose audit log is
still empty (`canbao.migrate.settle`).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence
from importlib import import_module

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection, text

from canbao import crypto
from canbao.db import UTCDateTime, utcnow

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_INSTALLATION = sa.table(
    "installation", sa.column("id"), sa.column("crypto"), sa.column("installed_at", UTCDateTime())
)


def _append_function():
    return import_module("canbao.migrations.versions.0010_audit_append_json")


def _sm3_in_sql(connection: Connection) -> bool:
    """pgcrypto installed here and able to compute SM3; a failed attempt leaves nothing behind."""
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
            connection.execute(text("SELECT digest('', 'sm3')"))
        return True
    except sa.exc.DBAPIError:
        return False


def apply(connection: Connection, profile: crypto.Profile) -> None:
    """Record `profile` and give PostgreSQL's chaining function its hash."""
    if connection.execute(sa.select(_INSTALLATION.c.id)).first() is None:
        connection.execute(_INSTALLATION.insert().values(id=1, crypto=profile.name, installed_at=utcnow()))
    else:
        connection.execute(_INSTALLATION.update().values(crypto=profile.name))
    if connection.dialect.name != "postgresql":
        return
    if profile is crypto.STANDARD or _sm3_in_sql(connection):
        connection.execute(text(_append_function().create_function(profile, replace=True)))
    else:
        connection.execute(text("DROP FUNCTION IF EXISTS audit_append_events(jsonb)"))


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("crypto", sa.String(length=16), nullable=False),
        sa.Column("installed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    apply(op.get_bind(), crypto.requested() or crypto.STANDARD)
    op.create_table(
        "archive_restored_version",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column(
            "object_key",
            sa.String(length=200).with_variant(sa.String(200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.String(length=200), nullable=True),
        sa.Column("original_version", sa.String(length=200), nullable=True),
        sa.Column("restored_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_restored_version")),
        sa.UniqueConstraint(
            "object_key", "version", name=op.f("uq_archive_restored_version_object_key_version")
        ),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text(_append_function().create_function(replace=True)))
    op.drop_table("archive_restored_version")
    op.drop_table("installation")
