"""Recording audit events. Every change and every read of personal data calls `record` inside the
transaction of the action it records: no action commits without its event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.db import utcnow

from .chain import PendingEvent, canonical_json, clean, queue


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    payload: dict[str, Any] | None = None,
    area: str | None = None,
    case_id: int | None = None,
    person_id: str | None = None,
) -> None:
    queue(
        session,
        PendingEvent(
            at=utcnow(),
            actor_sub=clean(actor.sub),
            actor_role=clean(actor.role),
            area=clean(actor.area if area is None else area),
            client_addr=clean(actor.client_addr) or None,
            action=clean(action),
            object_type=clean(object_type),
            object_id=clean(str(object_id)),
            case_id=case_id,
            person_id=person_id,
            payload=canonical_json(payload or {}),
        ),
    )


def record_reads(
    session: Session,
    *,
    actor: Actor,
    shown: Iterable[tuple[str | None, str | None, int | None]],
    purpose: str,
    route: str | None = None,
) -> int:
    """One `person.read` per distinct person a list, printout or export showed, so that every one of
    them appears in that person's access log. `shown` yields (person id, area, case id)."""
    seen: set[str] = set()
    for person_id, area, case_id in shown:
        if person_id is None or person_id in seen:
            continue
        seen.add(person_id)
        payload = {"purpose": purpose} | ({"route": route} if route else {})
        record(
            session,
            actor=actor,
            action="person.read",
            object_type="person",
            object_id=person_id,
            payload=payload,
            area=area,
            case_id=case_id,
            person_id=person_id,
        )
    return len(seen)
