"""Writers of many flags that queue the persons for the statistics themselves (`stats_dirty`).

The triggers of migration 0004 queue every person whose flags change, in the writer's transaction.
On PostgreSQL the statement trigger for a bulk write takes the distinct persons of its transition
table in hash order and upserts them one by one into the queue's index; for the hundreds of
thousands of flags a city's comparison raises that is about as long as writing the flags. A writer
that knows which of its statements change what the statistics read (a flag's kind, status, raising
or clearing time) can instead queue the persons in the same statement that changes the flags, from
its RETURNING rows, in person order.

`writer_marks_flags` says so to the flag triggers for the rest of the block only (a transaction-local
setting, migration 0008: the triggers skip while it is on); inside the block every statement that
changes those columns must go through `mark_changed`. On SQLite (row triggers, no session settings)
the triggers keep marking and `mark_changed` is a plain execute.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import DMLWhereBase, Insert, Update

from .models import StatsDirty

# Set (transaction-local) to WRITER while the writer queues the persons of its flag changes itself;
# the flag triggers of migration 0008 then leave the queue alone.
FLAG_SETTING = "canbao.stats_flag_marks"
WRITER = "writer"


def _postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


@contextmanager
def writer_marks_flags(session: Session) -> Iterator[None]:
    """Within the block, the flag triggers do not queue persons (PostgreSQL); the caller does, with
    `mark_changed`, for every statement that changes a flag's kind, status, raised_at or cleared_at."""
    if not _postgres(session):
        yield
        return
    session.execute(text("SELECT set_config(:name, :value, true)"), {"name": FLAG_SETTING, "value": WRITER})
    try:
        yield
    finally:
        session.execute(text("SELECT set_config(:name, '', true)"), {"name": FLAG_SETTING})


def mark_changed(session: Session, statement: Insert | Update | DMLWhereBase, person_id) -> None:
    """Run the INSERT or UPDATE `statement` on the flag table and, in the same statement, queue the
    persons of the rows it wrote (`person_id`: the flag table's column) for the statistics, in person
    order. Call within `writer_marks_flags`."""
    if not _postgres(session):
        session.execute(statement)  # the row triggers queue the persons
        return
    changed = statement.returning(person_id.label("person_id")).cte("changed")
    dirty = StatsDirty.__table__
    person = changed.c.person_id
    # DISTINCT ON: one sort, which also gives the person order
    persons = select(person, func.now()).ext(distinct_on(person)).order_by(person)
    mark = pg_insert(dirty).from_select(["person_id", "marked_at"], persons)
    mark = mark.on_conflict_do_update(
        index_elements=[dirty.c.person_id], set_={"marked_at": mark.excluded.marked_at}
    )
    session.execute(mark.add_cte(changed))
