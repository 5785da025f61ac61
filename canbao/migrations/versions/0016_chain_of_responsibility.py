"""The 规程's chain of responsibility: the kind of each county authorization, and 督办 on inbox rows.

- `county_authorization.kind`: "survey" (第十九条, granted by the 市级经办机构) or "change" (第二十一条,
  granted by the 市级人力资源社会保障部门). The grants made before were the one kind there was, for
  survey data.
- `case_task.supervised_at`, `reminders`, `reminded_at`: an overdue 初审 raises 督办 and stays with the
  platform; the county's reminders are counted.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import canbao.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("county_authorization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="survey"))
    with op.batch_alter_table("county_authorization", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervised_at", canbao.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminders", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reminded_at", canbao.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.alter_column("reminders", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("reminders")
        batch_op.drop_column("supervised_at")
    with op.batch_alter_table("county_authorization", schema=None) as batch_op:
        batch_op.drop_column("kind")
