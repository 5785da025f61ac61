"""The inbox's per-level indexes on an area prefix (county, township), in due-date order (covering) and
in age order, written by hand because autogenerate on SQLite cannot reflect expression indexes and so
leaves them out of 0001. On PostgreSQL, statistics on the prefixes: ANALYZE keeps none for the
expressions of partial indexes, and without them the planner guesses a county holds 0.5 % of its role's
tasks and sorts a whole county instead of walking an index in order.

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
    ready = {"postgresql_where": sa.text("state = 'ready'"), "sqlite_where": sa.text("state = 'ready'")}
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, length in LEVELS.items():
        prefix = sa.text(f"substr(area, 1, {length})")
        op.create_index(
            name, "case_task", ["role", prefix, "due_at", "id"], postgresql_include=COVERS, **ready
        )
        op.create_index(f"{name}_age", "case_task", ["role", prefix, "created_at", "id"], **ready)
        if postgresql:
            op.execute(
                f"CREATE STATISTICS st_case_task_area_{length} ON (substr(area, 1, {length})) FROM case_task"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, length in LEVELS.items():
        if postgresql:
            op.execute(f"DROP STATISTICS st_case_task_area_{length}")
        op.drop_index(f"{name}_age", table_name="case_task")
        op.drop_index(name, table_name="case_task")
