"""Exchange with the level above as a service (issue 19, 规程第十条): an export keeps its signed file
until the level above fetches it (`status` ready → fetched, `fetched_at`), the recipient of a 取回 file
is a column (`for_area`), and a file is found by its hash (`ix_exchange_batch_sha256`: importing the same
content twice is one batch). Exports written before were handed over as files: they count as fetched.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from canbao.db import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("for_area", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="applied")
        )
        batch_op.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("fetched_at", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE exchange_batch SET status = 'fetched' WHERE direction = 'export'")
    op.execute(
        "UPDATE exchange_batch SET for_area = substr(kind, 11) "
        "WHERE direction = 'export' AND kind LIKE 'elsewhere:%'"
    )
    with op.batch_alter_table("exchange_batch", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)
    op.create_index("ix_exchange_batch_sha256", "exchange_batch", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_exchange_batch_sha256", table_name="exchange_batch")
    with op.batch_alter_table("exchange_batch", schema=None) as batch_op:
        batch_op.drop_column("fetched_at")
        batch_op.drop_column("content")
        batch_op.drop_column("status")
        batch_op.drop_column("for_area")
