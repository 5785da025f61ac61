"""Let a bulk writer of flags stand the flag triggers aside and queue for the statistics itself.

On PostgreSQL the flag triggers of 0004 return without queueing while the transaction-local setting
`canbao.stats_flag_marks` is 'writer': a comparison then queues its run instead of each person
(registry.stats.queue, migration 0009). Unset or anything else, the triggers work as before. SQLite
keeps its row triggers unchanged (there are no session settings; the writer leaves the marking to
them there).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = ("kind", "status", "raised_at", "cleared_at")  # as 0004: the flag columns the statistics read
SOURCE = {
    "insert": "new_rows n",
    "update": "new_rows n JOIN old_rows o ON o.id = n.id WHERE ("
    + " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in WATCHED)
    + ")",
}
SKIP = """
  IF current_setting('canbao.stats_flag_marks', true) = 'writer' THEN
    RETURN NULL;  -- the writer queues for the statistics itself
  END IF;"""


def _function(event: str, skip: bool) -> str:
    return f"""
CREATE OR REPLACE FUNCTION stats_mark_flag_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{SKIP if skip else ""}
  INSERT INTO stats_dirty (person_id, marked_at)
  SELECT DISTINCT n.person_id, now() FROM {SOURCE[event]}
  ON CONFLICT (person_id) DO UPDATE SET marked_at = excluded.marked_at;
  RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in SOURCE:
        op.execute(_function(event, skip=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in SOURCE:
        op.execute(_function(event, skip=False))
