"""自报参保 (第二十二条): 参保信息 comes from the 社会保险业务库, not from what a person says.

An enrollment keyed in on a 登记表 (source "registration") is kept and shown as 自报, but the
comparison and the statistics never count it as 参保. While a 自报 险种 has no current active enrollment of
the same 险种 from a business system, the person carries an open flag of kind `verify` (待核实) with the
reasons `self_reported.<险种>`; every 入库 of a form and every enrollment import checks again, so the
next import that confirms the enrollment clears the flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from .models import Enrollment, Flag, Person

KIND = "verify"
SOURCE = "registration"
_CHUNK = 1000


def _active(e=Enrollment):
    return and_(e.superseded_at.is_(None), e.status == "1")


def _unconfirmed(session: Session, ids: list[str]) -> dict[str, set[str]]:
    """person → the 自报 险种 no business system confirms, for the persons of `ids` that have any 自报."""
    claimed: dict[str, set[str]] = {}
    for person_id, scheme in session.execute(
        select(Enrollment.person_id, Enrollment.scheme).where(
            Enrollment.person_id.in_(ids), Enrollment.source == SOURCE, _active()
        )
    ):
        claimed.setdefault(person_id, set()).add(scheme)
    if claimed:
        for person_id, scheme in session.execute(
            select(Enrollment.person_id, Enrollment.scheme).where(
                Enrollment.person_id.in_(list(claimed)), Enrollment.source != SOURCE, _active()
            )
        ):
            claimed[person_id].discard(scheme)
    return claimed


def recheck(
    session: Session,
    person_ids: Iterable[str],
    *,
    at: datetime,
    case_id: int | None = None,
    import_id: int | None = None,
) -> dict[str, int]:
    """Raise, update or clear the `verify` flag of each person in `person_ids` as their 自报 and business
    enrollments now stand. Returns how many flags were raised and cleared."""
    ids = sorted(set(person_ids))
    raised = cleared = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        pending = {p: schemes for p, schemes in _unconfirmed(session, chunk).items() if schemes}
        open_flags = {
            f.person_id: f
            for f in session.scalars(
                select(Flag).where(Flag.person_id.in_(chunk), Flag.kind == KIND, Flag.status == "open")
            )
        }
        found = select(Person.id, Person.area).where(Person.id.in_(list(pending)))
        areas = dict(session.execute(found).all())
        for person_id, schemes in pending.items():
            reasons = " ".join(f"self_reported.{s}" for s in sorted(schemes))
            flag = open_flags.pop(person_id, None)
            if flag is not None:
                flag.reasons = reasons
                continue
            session.add(
                Flag(
                    person_id=person_id,
                    kind=KIND,
                    reasons=reasons,
                    details={"import_id": import_id} if import_id else None,
                    area=areas.get(person_id, ""),
                    status="open",
                    raised_at=at,
                )
            )
            raised += 1
        for flag in open_flags.values():
            flag.status, flag.cleared_at, flag.cleared_by_case_id = "cleared", at, case_id
            cleared += 1
    session.flush()
    return {"raised": raised, "cleared": cleared}
