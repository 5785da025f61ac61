"""The inbox indexes of 0003 again on SQLite. There, 0016 and 0021 alter `case_task` in batch mode, which
copies the table with the indexes SQLAlchemy can reflect — and it cannot reflect expression indexes, so
the per-level inbox indexes were silently lost (the "Skipped unsupported reflection" warnings on start).
A later batch alteration of `case_task` must recreate them the same way. PostgreSQL alters in place and
kept them.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = {"ix_case_task_inbox_county": 6, "ix_case_task_inbox_township": 9}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, length in LEVELS.items():
        prefix = f"substr(area, 1, {length})"
        for index, order in ((name, "due_at"), (f"{name}_age", "created_at")):
            op.execute(
                f"CREATE INDEX IF NOT EXISTS {index} ON case_task (role, {prefix}, {order}, id) "
                "WHERE state = 'ready'"
            )


def downgrade() -> None:
    pass  # the indexes 0003 made; 0022's schema has them in intent, if not on SQLite in fact
