"""The worker: fires due boundary timers and runs deferred operations, with retries.

Each wake-up is claimed with `FOR UPDATE SKIP LOCKED`, so any number of workers can poll the same
table and never fire the same timer twice; a case busy with a user's action is skipped and picked up
on the next poll. A failed operation rolls back its whole step and is retried with backoff while the
case shows what it waits for and why the last attempt failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from canbao.actors import SYSTEM
from canbao.db import utcnow

from . import migration, operations, serializer
from .models import Case, CaseWakeup
from .runner import Step, parsed_for

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=30)


# The wake-up and its case are locked together; a case busy with a user's action is skipped like a
# wake-up another worker holds. Built once: its cache key is not recomputed per poll.
_CLAIM = (
    select(CaseWakeup.id, CaseWakeup.kind, CaseWakeup.operation, CaseWakeup.attempts, Case)
    .join(Case, Case.id == CaseWakeup.case_id)
    .where(CaseWakeup.due_at <= bindparam("now"), CaseWakeup.id.not_in(bindparam("skipped", expanding=True)))
    .order_by(CaseWakeup.due_at)
    .limit(1)
    .with_for_update(skip_locked=True)
)


def run_due(sessions: sessionmaker[Session], *, now: datetime | None = None, limit: int = 100) -> int:
    """Handle up to `limit` due wake-ups, each in its own transaction; returns how many succeeded."""
    done = 0
    skipped: set[int] = set()
    for _ in range(limit):
        outcome = _run_one(sessions, now or utcnow(), skipped)
        if outcome is None:
            break
        done += outcome
    return done


@dataclass(frozen=True)
class _Claimed:
    id: int
    case_id: int
    kind: str
    operation: str | None
    attempts: int


def _run_one(sessions: sessionmaker[Session], now: datetime, skipped: set[int]) -> int | None:
    """1 when a wake-up was handled, 0 when it failed, None when none is due (or only for busy cases)."""
    claimed: _Claimed | None = None
    try:
        with sessions() as session, session.begin():
            row = session.execute(_CLAIM, {"now": now, "skipped": list(skipped)}).first()
            if row is None:
                return None
            claimed = _Claimed(row.id, row.Case.id, row.kind, row.operation, row.attempts)
            _fire(session, row.Case, claimed.kind)
    except Exception as err:
        if claimed is None:
            raise
        log.exception("case %s: %s failed (attempt %s)", claimed.case_id, claimed.kind, claimed.attempts + 1)
        _postpone(sessions, claimed, f"{type(err).__name__}: {err}", now=now)
        skipped.add(claimed.id)
        return 0
    return 1


def _fire(session: Session, case: Case, kind: str) -> None:
    parsed = parsed_for(session, case.definition_id)
    workflow = serializer.loads(case.state, parsed)
    step = Step.begin(session, case, SYSTEM, parsed, workflow)
    if kind == "timer":
        workflow.refresh_timers()
    step.finish(step.advance(allow_deferred=kind == "operation"))
    session.flush()


def _postpone(sessions: sessionmaker[Session], claimed: _Claimed, error: str, *, now: datetime) -> None:
    attempts = claimed.attempts + 1
    backoff = min(timedelta(seconds=10 * 2 ** min(attempts, 12)), MAX_BACKOFF)
    op = operations.get(claimed.operation or "")
    title = op.title if op else claimed.kind
    with sessions() as session, session.begin():
        session.execute(
            update(CaseWakeup)
            .where(CaseWakeup.id == claimed.id)
            .values(
                attempts=attempts,
                last_error=error[:2000],
                due_at=now + backoff,
            )
        )
        if claimed.kind == "operation":
            session.execute(
                update(Case)
                .where(Case.id == claimed.case_id)
                .values(
                    status_detail=(
                        f"等待{title}：第 {attempts} 次尝试失败，{backoff.seconds // 60 or 1} 分钟内重试"
                        f"（{error[:200]}）"
                    ),
                )
            )


def serve(
    sessions: sessionmaker[Session], *, interval: float = 2.0, chores: Sequence[Callable[[], None]] = ()
) -> None:
    """Poll forever (`canbao worker`): due wake-ups first, then a slice of any pending migration job,
    then the periodic chores the composition root hands in (they decide themselves whether they are due)."""
    log.info("worker started; operations: %s", ", ".join(operations.names()))
    while True:
        try:
            busy = run_due(sessions) + migration.run(sessions, limit=100)
        except DBAPIError:
            # The database restarted or is down: the pool has dropped its connections, the next
            # poll opens new ones.
            log.exception("worker poll failed; it polls again in %s s", interval)
            busy = 0
        for chore in chores:
            try:
                chore()
            except Exception:
                log.exception(
                    "worker chore %s failed; it runs again on the next poll",
                    getattr(chore, "__name__", chore),
                )
        if busy == 0:
            time.sleep(interval)
