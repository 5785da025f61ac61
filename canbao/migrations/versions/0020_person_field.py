"""Department data (issue 19, 规程第八、九、二十、二十四条): `person_field`, each person field as a
department's record last set it, with its source and the record's date, which the precedence table
weighs the next record against.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import canbao.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_field",
        sa.Column("person_id", sa.String(length=18), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=True),
        sa.Column("applied_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "field", name=op.f("pk_person_field")),
    )


def downgrade() -> None:
    op.drop_table("person_field")
