"""Review rework (issue 20): a task re-opened by a return goes back to its last completer and says who
returned it (`case_task.returned_by`); 已办 lists what a user completed (`ix_case_task_done`); a
half-filled form is kept as a draft per task and user (`task_draft`).

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import canbao.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_by", sa.String(length=64), nullable=True))
    op.create_index("ix_case_task_done", "case_task", ["completed_by", "completed_at", "id"])
    op.create_table(
        "task_draft",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("task_guid", sa.String(length=36), nullable=False),
        sa.Column("user_sub", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("saved_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_task_draft_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["task_guid"],
            ["case_task.task_guid"],
            name=op.f("fk_task_draft_task_guid_case_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_draft")),
        sa.UniqueConstraint("task_guid", "user_sub", name=op.f("uq_task_draft_task_guid_user_sub")),
    )
    op.create_index("ix_task_draft_case_id", "task_draft", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_task_draft_case_id", table_name="task_draft")
    op.drop_table("task_draft")
    op.drop_index("ix_case_task_done", table_name="case_task")
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.drop_column("returned_by")
