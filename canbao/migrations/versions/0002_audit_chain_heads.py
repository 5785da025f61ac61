"""Seed the head of every audit chain with the genesis hash.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from canbao.audit.chain import CHAINS, GENESIS

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    heads = sa.table("audit_chain_head", sa.column("chain"), sa.column("seq"), sa.column("hash"))
    op.bulk_insert(heads, [{"chain": c, "seq": 0, "hash": GENESIS} for c in range(CHAINS)])


def downgrade() -> None:
    op.execute("DELETE FROM audit_chain_head")
