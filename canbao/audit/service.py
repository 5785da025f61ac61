"""Recording audit events. Every change and every read of personal data calls `record` inside the
transaction of the action it records: no action commits without its event."""

from __future__ import annotations

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
