"""The inbox's per-level indexes on an area prefix (county, township), written by hand because
autogenerate on SQLite cannot reflect expression indexes and so leaves them out of 0001.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = {"ix_case_task_inbox_county": 6, "ix_case_task_inbox_township": 9}
COVERS = ["area", "assignee", "process_key", "team_id", "person_id", "person_name", "created_at"]


def upgrade() -> None:
    for name, length in LEVELS.items():
        op.create_index(
            name,
            "case_task",
            ["role", sa.text(f"substr(area, 1, {length})"), "due_at", "id"],
            postgresql_include=COVERS,
            postgresql_where=sa.text("state = 'ready'"),
            sqlite_where=sa.text("state = 'ready'"),
        )


def downgrade() -> None:
    for name in LEVELS:
        op.drop_index(name, table_name="case_task")
