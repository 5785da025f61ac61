"""Queue persons for the statistics refresh whenever their registry history changes (registry.stats).

Triggers on person_version, enrollment, flag and field_change write the person into `stats_dirty` in
the writer's own transaction, so every write path is seen, whichever module makes it. PostgreSQL uses
statement-level triggers with transition tables (one INSERT per statement, also for bulk imports);
SQLite uses row-level triggers. The upsert makes a concurrent refresh that is taking the queue wait
for the writer's commit (see registry.stats.build._incremental).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (condition on the inserted row, for updates: the columns whose change matters)
WATCHED = {
    "person_version": ("1 = 1", None),
    "enrollment": ("1 = 1", None),
    "flag": ("1 = 1", ("kind", "status", "raised_at", "cleared_at")),
    "field_change": ("n.field = '/uninsured_reason/code'", None),
}
UPDATED = ("person_version", "enrollment", "flag")


def _pg_function(table: str, event: str) -> str:
    condition, columns = WATCHED[table]
    if event == "UPDATE" and columns:
        changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in columns)
        source = f"new_rows n JOIN old_rows o ON o.id = n.id WHERE ({changed})"
    else:
        source = f"new_rows n WHERE {condition}"
    return f"""
CREATE FUNCTION stats_mark_{table}_{event.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stats_dirty (person_id, marked_at)
  SELECT DISTINCT n.person_id, now() FROM {source}
  ON CONFLICT (person_id) DO UPDATE SET marked_at = excluded.marked_at;
  RETURN NULL;
END $$"""


def _events(table: str) -> tuple[str, ...]:
    return ("INSERT", "UPDATE") if table in UPDATED else ("INSERT",)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        for event in _events(table):
            name = f"stats_mark_{table}_{event.lower()}"
            if postgres:
                op.execute(_pg_function(table, event))
                tables = "NEW TABLE AS new_rows"
                if event == "UPDATE":
                    tables = "OLD TABLE AS old_rows NEW TABLE AS new_rows"
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                )
                continue
            condition, columns = WATCHED[table]
            when = condition.replace("n.", "NEW.")
            if event == "UPDATE" and columns:
                when = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} WHEN {when} BEGIN "
                "INSERT OR REPLACE INTO stats_dirty (person_id, marked_at) "
                "VALUES (NEW.person_id, datetime('now')); END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        for event in _events(table):
            name = f"stats_mark_{table}_{event.lower()}"
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
            if postgres:
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
