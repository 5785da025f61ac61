"""The rule set each comparison run and statistics build used (issue 19, 规程第七条): its name and
version (`rule_set`, e.g. `default@2026.1`) and the SHA-256 of its content, beside the existing
`rule_version`. Runs and builds from before the rule set was data have none.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("comparison_run", "stats_state")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("rule_set", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("rule_set_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("rule_set_sha256")
            batch_op.drop_column("rule_set")
