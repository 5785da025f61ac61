"""Index the field history by import: an import's audit event hashes the history rows it wrote
(registry.imports), which reads them back by `import_id`.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_field_change_import_id", "field_change", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_field_change_import_id", table_name="field_change")
