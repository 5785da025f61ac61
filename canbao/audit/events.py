"""The auditor's queries: events filtered by case, person, actor, action, time and area, and everyone
who read one person's data. Both are keyset-paginated (newest first, `before` = the last id seen) and
reach only events in the actor's area. Reading the log is itself recorded (`audit.read`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.db import area_within
from canbao.errors import FieldError, Forbidden, Invalid

from .models import AuditEvent
from .service import record

MAX_LIMIT = 500
# Actions that show a person's data to someone: reads, prints, lists and exports.
READ_PATTERNS = ("%.read", "%.export", "%.print", "%.list")


@dataclass(frozen=True)
class Filters:
    case_id: int | None = None
    person_id: str | None = None
    actor_sub: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("task.")
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    area: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[AuditEvent]
    next: int | None


def view(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "chain": event.chain,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor_sub,
        "role": event.actor_role,
        "area": event.area,
        "client_addr": event.client_addr,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "case_id": event.case_id,
        "person_id": event.person_id,
        "payload": event.payload_json,
        "hash": event.hash,
    }


def get_all(
    session: Session, *, actor: Actor, filters: Filters, limit: int = 50, before: int | None = None
) -> Page:
    errors = []
    if filters.area is not None and not filters.area.startswith(actor.area):
        raise Forbidden("只能查询本人所辖区域的审计记录", reason="area")
    if filters.since and filters.until and filters.until <= filters.since:
        errors.append(FieldError("/until", "until.before_since", "截止时间应晚于起始时间"))
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(FieldError("/limit", "limit.range", f"每页条数应在 1 至 {MAX_LIMIT} 之间"))
    if errors:
        raise Invalid(errors)
    stmt = select(AuditEvent).where(area_within(AuditEvent.area, filters.area or actor.area))
    if filters.case_id is not None:
        stmt = stmt.where(AuditEvent.case_id == filters.case_id)
    if filters.person_id is not None:
        stmt = stmt.where(AuditEvent.person_id == filters.person_id)
    if filters.actor_sub is not None:
        stmt = stmt.where(AuditEvent.actor_sub == filters.actor_sub)
    if filters.action is not None:
        stmt = stmt.where(
            AuditEvent.action.startswith(filters.action, autoescape=True)
            if filters.action.endswith(".")
            else AuditEvent.action == filters.action
        )
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.at < filters.until)
    page = _page(session, stmt, limit, before)
    record(
        session,
        actor=actor,
        action="audit.read",
        object_type="audit_log",
        object_id=filters.person_id or (str(filters.case_id) if filters.case_id else "events"),
        payload={
            "route": "GET /audit/events",
            "filters": {k: v for k, v in filters.__dict__.items() if v is not None},
            "shown": len(page.items),
        },
        area=filters.area or actor.area,
        case_id=filters.case_id,
        person_id=filters.person_id,
    )
    return page


def access_log(
    session: Session, *, actor: Actor, person_id: str, limit: int = 50, before: int | None = None
) -> Page:
    """Everyone who read, printed, listed or exported this person's data (citizens see their own)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid([FieldError("/limit", "limit.range", f"每页条数应在 1 至 {MAX_LIMIT} 之间")])
    stmt = select(AuditEvent).where(
        AuditEvent.person_id == person_id,
        or_(*(AuditEvent.action.like(p) for p in READ_PATTERNS)),
    )
    if person_id != actor.sub:
        stmt = stmt.where(area_within(AuditEvent.area, actor.area))
    page = _page(session, stmt, limit, before)
    record(
        session,
        actor=actor,
        action="audit.read",
        object_type="person",
        object_id=person_id,
        payload={"route": "GET /persons/{id}/access-log", "shown": len(page.items)},
        area=page.items[0].area if page.items else actor.area,
        person_id=person_id,
    )
    return page


def access_view(event: AuditEvent) -> dict[str, Any]:
    payload = event.payload_json
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor_sub,
        "role": event.actor_role,
        "client_addr": event.client_addr,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "case_id": event.case_id,
        "purpose": payload.get("purpose"),
        "route": payload.get("route"),
        "fields": payload.get("fields"),
    }


def _page(session: Session, stmt, limit: int, before: int | None) -> Page:
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    rows = list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    return Page(items=items, next=items[-1].id if len(rows) > limit else None)
