"""A queue of comparison runs for the statistics refresh (registry.stats.queue).

A comparison that raises or clears hundreds of thousands of flags queues its run instead of each
person: the refresh takes the persons of the flags the run raised or cleared (`flag.raised_by_run_id`,
`cleared_by_run_id`, both indexed) together with the persons of `stats_dirty`. The run's row is
written in the comparison's transaction, so the refresh sees it exactly when it sees the flags.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import canbao.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_dirty_run",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("marked_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_stats_dirty_run")),
    )


def downgrade() -> None:
    op.drop_table("stats_dirty_run")
