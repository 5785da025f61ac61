"""公民身份号码更正: a person stored under a wrong number, corrected by its own path (design §2).

A case never changes whose record it writes by carrying another number: a wrong number stored earlier
is corrected only by an `id_correction` case, with its evidence, an 初审 and a 县级审定, and this
operation. The registry's rows follow the corrected number (the person, its versions, field history,
enrollments, flags and statistics spans); the history keeps the old number as a change of
`/id_number`, and the audit log records `registry.id_correction` with both. The audit events written
before stay as they were (append-only): they name the old number, and the correction event links them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.db import utcnow
from canbao.errors import Conflict, FieldError, Invalid
from forms import ssnumber
from forms.idnumber import IdNumberError

from .common import PersonNotFound
from .models import Enrollment, FieldChange, Flag, Person, PersonVersion
from .persons import case_person, change_row, require_case_county
from .stats.models import StatsDirty, StatsSpan

# Every registry table that names a person by number, re-keyed in one statement each. (The statistics
# queue is not: re-keying the person's versions queues the new number by trigger, migration 0004.)
_UNQUEUE = StatsDirty.__table__.delete().where(StatsDirty.__table__.c.person_id == bindparam("b_old"))
_REKEY = [
    update(table).where(table.c[column] == bindparam("b_old")).values({column: bindparam("b_new")})
    for table, column in (
        (Person.__table__, "id"),
        (PersonVersion.__table__, "person_id"),
        (FieldChange.__table__, "person_id"),
        (Enrollment.__table__, "person_id"),
        (Flag.__table__, "person_id"),
        (StatsSpan.__table__, "person_id"),
    )
]


class NumberTaken(Conflict):
    code = "registry.id_number_taken"
    title = "更正后的号码已在登记库中"


def correct_id_number(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    case_area: str,
    person_id: str | None,
    correction: dict[str, Any],
) -> dict[str, Any]:
    """Re-key the case's person to the corrected number of an approved `id_correction` form."""
    old = case_person(correction.get("id_number"), person_id=person_id)
    try:
        new = ssnumber.resident_id(str(correction.get("new_id_number") or "")).number
    except IdNumberError as exc:
        raise Invalid([FieldError("/new_id_number", exc.code, exc.message)]) from None
    person = session.get(Person, old, with_for_update=True)
    if person is None:
        raise PersonNotFound(f"登记库中没有公民身份号码为 {old[:6]}… 的人员")
    # A 居民身份证's number is the key itself: the document is corrected with it.
    pointer = "/id_number" if person.document_number in (None, old) else "/ss_number"
    require_case_county(person.area, case_area)
    if session.get(Person, new) is not None:
        raise NumberTaken("更正后的号码已登记为另一人员：两条记录是否为同一人，须另行核实合并")
    area, at = person.area, utcnow()
    session.flush()
    session.expunge(person)
    connection = session.connection()
    connection.execute(_UNQUEUE, {"b_old": old})
    for statement in _REKEY:
        connection.execute(statement, {"b_old": old, "b_new": new})
    if pointer == "/id_number":
        connection.execute(update(Person).where(Person.id == new).values(document_number=new))
    connection.execute(
        FieldChange.__table__.insert(),
        change_row(
            person_id=new,
            pointer=pointer,
            old=old,
            new=new,
            at=at,
            source="case",
            actor=actor,
            case_id=case_id,
        ),
    )
    audit.record(
        session,
        actor=actor,
        action="registry.id_correction",
        object_type="person",
        object_id=new,
        payload={
            "old": old,
            "new": new,
            "reason": correction.get("reason"),
            "evidence": correction.get("evidence"),
        },
        area=area,
        case_id=case_id,
        person_id=new,
    )
    return {"person_id": new, "corrected_from": old}
