"""The schema, generated from the models by scripts/regen-schema-migration (do not edit by hand).

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import canbao.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
        sa.Column("area", sa.String(length=12), nullable=False),
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
        batch_op.create_index("ix_audit_event_case", ["case_id", "id"], unique=False)
        batch_op.create_index("ix_audit_event_object", ["object_type", "object_id", "id"], unique=False)
        batch_op.create_index("ix_audit_event_person", ["person_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_person")
        batch_op.drop_index("ix_audit_event_object")
        batch_op.drop_index("ix_audit_event_case")
        batch_op.drop_index("ix_audit_event_actor")
        batch_op.drop_index("ix_audit_event_action")

    op.drop_table("audit_event")
    op.drop_table("audit_chain_head")
