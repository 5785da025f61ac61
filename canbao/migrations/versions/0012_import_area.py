"""The importer's area on each recorded import: its file and the rows it rejected (which name persons)
are seen within that area only (design §2). Earlier imports belong to the whole installation ("").

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    area = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area", area, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.drop_column("area")
