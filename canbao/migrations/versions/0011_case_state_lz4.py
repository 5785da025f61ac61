"""The case state compressed with lz4 instead of pglz on PostgreSQL.

Every step rewrites its case's lean state (about 8 KB of JSON, compressed into TOAST); lz4
compresses it several times faster than the default pglz at a similar size, which is most of what
the step's UPDATE of the case row costs the server. Rows keep their compression until rewritten.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cases ALTER COLUMN state SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cases ALTER COLUMN state SET COMPRESSION pglz")
