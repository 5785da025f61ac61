"""The task inbox: ready user tasks the actor may work, read from the projection (never from workflows).

Pages are keyset-paginated on (due date or creation time, id), so page N costs what page 1 costs.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.db import area_within, utcnow
from canbao.errors import FieldError, Invalid
from forms import idnumber

from .models import CaseTask

WORKING_ROLES = {"surveyor", "platform_reviewer", "county_approver", "citizen"}
_MASKED = re.compile(r"^(\d{6})\*+(\d{3}[\dX])$")


@dataclass(frozen=True)
class InboxQuery:
    role: str | None = None
    area: str | None = None
    status: Literal["open", "mine", "others"] | None = None
    overdue: bool | None = None
    process: str | None = None
    text: str | None = None
    sort: Literal["due", "age"] = "due"
    limit: int = 50
    after: str | None = None


@dataclass(frozen=True)
class InboxPage:
    items: list[CaseTask]
    next: str | None
    counts: dict[str, int]


def _scope(actor: Actor, q: InboxQuery):
    roles = sorted(WORKING_ROLES.intersection(actor.roles))
    if q.role is not None:
        roles = [r for r in roles if r == q.role]
    conditions = [CaseTask.state == "ready", CaseTask.role.in_(roles)]
    if q.area:
        if not q.area.startswith(actor.area):
            raise Invalid([FieldError("/area", "area.outside", "只能查看本人所辖区域的任务")])
        conditions.append(area_within(CaseTask.area, q.area))
    else:
        conditions.append(area_within(CaseTask.area, actor.area))
    if "surveyor" in roles:
        conditions.append(
            or_(
                CaseTask.role != "surveyor",
                CaseTask.team_id.is_(None),
                CaseTask.team_id.in_(actor.teams or (-1,)),
            )
        )
    if "citizen" in roles:
        conditions.append(or_(CaseTask.role != "citizen", CaseTask.person_id == actor.sub))
    if q.process:
        conditions.append(CaseTask.process_key == q.process)
    if q.text:
        conditions.append(_text(q.text.strip()))
    return conditions


def _text(text: str):
    try:
        return CaseTask.person_id == idnumber.normalize(text)
    except idnumber.IdNumberError:
        pass
    masked = _MASKED.match(text)
    if masked:
        return and_(
            CaseTask.person_id.startswith(masked.group(1)), CaseTask.person_id.endswith(masked.group(2))
        )
    return CaseTask.person_name.contains(text, autoescape=True)


def _status(actor: Actor, status: str | None, overdue: bool | None, now: datetime):
    conditions = []
    if status == "open":
        conditions.append(CaseTask.assignee.is_(None))
    elif status == "mine":
        conditions.append(CaseTask.assignee == actor.sub)
    elif status == "others":
        conditions.append(and_(CaseTask.assignee.is_not(None), CaseTask.assignee != actor.sub))
    if overdue is True:
        conditions.append(CaseTask.due_at < now)
    elif overdue is False:
        conditions.append(CaseTask.due_at >= now)
    return conditions


def encode_cursor(key: datetime, task_id: int) -> str:
    return base64.urlsafe_b64encode(f"{key.isoformat()}|{task_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, task_id = raw.rsplit("|", 1)
        return datetime.fromisoformat(key), int(task_id)
    except (ValueError, UnicodeDecodeError) as err:
        raise Invalid([FieldError("/after", "cursor.invalid", "分页游标无效")]) from err


def query(session: Session, *, actor: Actor, q: InboxQuery, with_counts: bool = True) -> InboxPage:
    now = utcnow()
    scope = _scope(actor, q)
    key = CaseTask.due_at if q.sort == "due" else CaseTask.created_at
    stmt = select(CaseTask).where(*scope, *_status(actor, q.status, q.overdue, now))
    if q.after:
        after_key, after_id = decode_cursor(q.after)
        stmt = stmt.where(or_(key > after_key, and_(key == after_key, CaseTask.id > after_id)))
    rows = list(session.scalars(stmt.order_by(key, CaseTask.id).limit(q.limit + 1)))
    items, more = rows[: q.limit], len(rows) > q.limit
    cursor = None
    if more:
        last = items[-1]
        cursor = encode_cursor(last.due_at if q.sort == "due" else last.created_at, last.id)
    return InboxPage(
        items=items, next=cursor, counts=counts(session, actor=actor, q=q, now=now) if with_counts else {}
    )


def counts(session: Session, *, actor: Actor, q: InboxQuery, now: datetime | None = None) -> dict[str, int]:
    """Ready tasks in the query's scope per status: open, mine, others, and how many are overdue."""
    now = now or utcnow()
    unassigned = CaseTask.assignee.is_(None)
    row = session.execute(
        select(
            func.count().label("total"),
            func.sum(case((unassigned, 1), else_=0)).label("open"),
            func.sum(case((CaseTask.assignee == actor.sub, 1), else_=0)).label("mine"),
            func.sum(case((CaseTask.due_at < now, 1), else_=0)).label("overdue"),
        ).where(*_scope(actor, q))
    ).one()
    total, open_, mine = row.total or 0, row.open or 0, row.mine or 0
    return {
        "open": open_,
        "mine": mine,
        "others": total - open_ - mine,
        "overdue": row.overdue or 0,
        "total": total,
    }
