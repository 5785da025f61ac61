"""The document a person registered with, beside the 社会保障号码 that keys them (issue 18, 规程第三、八条):
`person.document_number`, found by `ix_person_document` (证件号码, 证件类型). Until now only 居民身份证
holders could be stored, whose document number is their key: every existing person gets it.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_number", sa.String(length=32), nullable=True))
    op.execute("UPDATE person SET document_number = id")
    op.create_index("ix_person_document", "person", ["document_number", "id_type"])


def downgrade() -> None:
    op.drop_index("ix_person_document", table_name="person")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("document_number")
