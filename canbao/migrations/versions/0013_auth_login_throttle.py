"""The login limit counts failures per key in `login_throttle` (row-locked, so concurrent attempts are
counted one by one) instead of summing `login_attempt` rows, which the audit log already duplicates;
each user gets a token generation that every disable, enable, role, area or password change raises.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import canbao.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.add_column(sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.alter_column("token_generation", server_default=None)
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "account", "address", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_last_failure_at"), "login_throttle", ["last_failure_at"])
    op.drop_index("ix_login_attempt_user", table_name="login_attempt")
    op.drop_index("ix_login_attempt_addr", table_name="login_attempt")
    op.drop_table("login_attempt")


def downgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=False),
        sa.Column("at", canbao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    op.create_index("ix_login_attempt_addr", "login_attempt", ["client_addr", "at"])
    op.create_index("ix_login_attempt_user", "login_attempt", ["username", "at"])
    op.drop_index(op.f("ix_login_throttle_last_failure_at"), table_name="login_throttle")
    op.drop_table("login_throttle")
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_column("token_generation")
