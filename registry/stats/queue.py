"""A comparison queues its run for the statistics, not each person whose flags it changes.

The triggers of migration 0004 queue every person whose flags change (`stats_dirty`), in the writer's
transaction. For the hundreds of thousands of flags a city's comparison raises that is seconds of
upserts into the queue's index (as a statement trigger: a spilling deduplication, then upserts in
hash order; even sorted and in the comparison's own statement, 846,000 persons took 2.6 s). The run
knows which flags it raised and cleared — they carry its id in `raised_by_run_id` and
`cleared_by_run_id`, both indexed — so on PostgreSQL it queues one row, its run id, in
`stats_dirty_run`, and the refresh takes the persons of those flags together with `stats_dirty`
(`take_runs`).

`writer_marks_flags` tells the flag triggers so for the rest of the block only (a transaction-local
setting, migration 0008: the triggers skip while it is on); inside the block every statement that
changes a flag's kind, status, raised_at or cleared_at must set `raised_by_run_id` or
`cleared_by_run_id` to the queued run. On SQLite (row triggers, no session settings) the triggers
keep marking and no run is queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from canbao.db import utcnow

# Set (transaction-local) to WRITER while a run's flags are written; the flag triggers of migration
# 0008 then leave the queue alone.
FLAG_SETTING = "canbao.stats_flag_marks"
WRITER = "writer"


def _postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


@contextmanager
def writer_marks_flags(session: Session, run_id: int) -> Iterator[None]:
    """Within the block the flag triggers do not queue persons (PostgreSQL); the comparison run
    `run_id` is queued instead, and every flag the block raises or clears must name it."""
    if not _postgres(session):
        yield
        return
    session.execute(
        text("INSERT INTO stats_dirty_run (run_id, marked_at) VALUES (:run, :at)"),
        {"run": run_id, "at": utcnow()},
    )
    session.execute(text("SELECT set_config(:name, :value, true)"), {"name": FLAG_SETTING, "value": WRITER})
    try:
        yield
    finally:
        session.execute(text("SELECT set_config(:name, '', true)"), {"name": FLAG_SETTING})


def take_runs(session: Session, into: str) -> None:
    """Move the persons of the flags raised or cleared by the queued runs into the temporary table
    `into` (person_id, primary key; persons already there stay once) and empty the run queue — in one
    statement, so that a run committed meanwhile stays queued for the next refresh. Only PostgreSQL
    queues runs (see `writer_marks_flags`)."""
    if not _postgres(session):
        return
    session.execute(
        text(
            "WITH q AS (DELETE FROM stats_dirty_run RETURNING run_id) "
            f"INSERT INTO {into} (person_id) "
            "SELECT person_id FROM flag WHERE raised_by_run_id IN (SELECT run_id FROM q) "
            "UNION SELECT person_id FROM flag WHERE cleared_by_run_id IN (SELECT run_id FROM q) "
            "ON CONFLICT (person_id) DO NOTHING"
        )
    )
