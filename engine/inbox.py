"""The task inbox: ready user tasks the actor may work, read from the projection (never from workflows).

Pages are keyset-paginated on (due date or creation time, id), so page N costs what page 1 costs. A page
is found in two steps inside one statement: the ids of the page come from an index-only scan of the
inbox index for the caller's level (county, township or community, each in due-date order and covering
every filtered column), then only those rows are read. Counts per status are a separate call: they
read every task in scope, which a page never has to.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Row, and_, case, func, literal_column, or_, select, tuple_
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.db import area_within, utcnow
from canbao.errors import FieldError, Invalid
from forms import ssnumber
from forms.idnumber import IdNumberError

from .models import INBOX_LEVELS, CaseTask

WORKING_ROLES = {"surveyor", "platform_reviewer", "counter_clerk", "county_approver", "citizen"}
_MASKED = re.compile(r"^(\d{6})\*+(\d{3}[\dX])$")
# Literal, not a bound parameter, so that the planner always matches the partial inbox indexes.
_READY = CaseTask.state == literal_column("'ready'")
_ROWS = select(*CaseTask.__table__.c)


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
    # Lanes the caller may list besides its own (a lead's), as decided by the caller's policy.
    led_roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class InboxPage:
    items: list[Row]
    next: str | None


def in_area(area: str):
    """Tasks in `area` and below, phrased as the inbox index of that level expects it."""
    if len(area) in INBOX_LEVELS:
        return func.substr(CaseTask.area, literal_column("1"), literal_column(str(len(area)))) == area
    if len(area) == 12:
        return CaseTask.area == area
    return area_within(CaseTask.area, area)


def _scope(actor: Actor, q: InboxQuery):
    own = WORKING_ROLES.intersection(actor.roles)
    roles = sorted(own) if q.role is None else [q.role] if q.role in own or q.role in q.led_roles else []
    conditions = [_READY, CaseTask.role.in_(roles)]
    if q.area and not q.area.startswith(actor.area):
        raise Invalid([FieldError("/area", "area.outside", "只能查看本人所辖区域的任务")])
    conditions.append(in_area(q.area or actor.area))
    if "surveyor" in roles and "surveyor" not in q.led_roles:
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
    if q.text and q.text.strip():
        conditions.append(_text(q.text.strip()))
    return conditions


def _text(text: str):
    """A 社会保障号码 (full or as masked in lists) or part of a name."""
    try:
        return CaseTask.person_id == ssnumber.normalize(text)
    except IdNumberError:
        pass
    masked = _MASKED.match(text.upper())
    if masked:
        return and_(
            CaseTask.person_id.startswith(masked.group(1), autoescape=True),
            CaseTask.person_id.endswith(masked.group(2), autoescape=True),
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
        at, row_id = datetime.fromisoformat(key), int(task_id)
        if at.tzinfo is None or not 0 < row_id < 2**63:
            raise ValueError("not a cursor this inbox issued")
        return at, row_id
    except (ValueError, UnicodeDecodeError) as err:
        raise Invalid([FieldError("/after", "cursor.invalid", "分页游标无效")]) from err


def query(session: Session, *, actor: Actor, q: InboxQuery) -> InboxPage:
    """One page of the actor's inbox: rows with the columns of `case_task`, in key order."""
    now = utcnow()
    key = CaseTask.due_at if q.sort == "due" else CaseTask.created_at
    page = select(CaseTask.id).where(*_scope(actor, q), *_status(actor, q.status, q.overdue, now))
    if q.after:
        after_key, after_id = decode_cursor(q.after)
        page = page.where(tuple_(key, CaseTask.id) > tuple_(after_key, after_id))
    page = page.order_by(key, CaseTask.id).limit(q.limit + 1)
    # Core rows straight from the connection: the inbox only reads, and skipping the ORM halves its cost.
    rows = list(
        session.connection().execute(
            _ROWS.where(CaseTask.id.in_(page.scalar_subquery())).order_by(key, CaseTask.id)
        )
    )
    items, more = rows[: q.limit], len(rows) > q.limit
    cursor = None
    if more:
        last = items[-1]
        cursor = encode_cursor(last.due_at if q.sort == "due" else last.created_at, last.id)
    return InboxPage(items=items, next=cursor)


def counts(session: Session, *, actor: Actor, q: InboxQuery) -> dict[str, int]:
    """Ready tasks in the query's scope (role, area, process, text) per status: open, mine, others,
    and how many are overdue. Reads every task in scope (an index-only scan), so it is its own call."""
    now = utcnow()
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


def supervision(session: Session, *, actor: Actor, roles: frozenset[str], limit: int = 200) -> list[Row]:
    """督办: the ready tasks of the lanes the actor leads, within its area, whose supervision timer found
    them overdue (第十九条: an overdue 初审 stays with the platform; the county reminds or reassigns),
    the longest overdue first."""
    return list(
        session.connection().execute(
            _ROWS.where(
                _READY,
                CaseTask.role.in_(sorted(roles)),
                in_area(actor.area),
                CaseTask.supervised_at.is_not(None),
            )
            .order_by(CaseTask.due_at, CaseTask.id)
            .limit(limit)
        )
    )


def done(session: Session, *, actor: Actor, limit: int = 50, after: str | None = None) -> InboxPage:
    """已办: the tasks the actor completed, the latest first, keyset-paginated on (completed_at, id)."""
    page = select(*CaseTask.__table__.c).where(
        CaseTask.completed_by == actor.sub, CaseTask.state == "completed"
    )
    if after:
        at, row_id = decode_cursor(after)
        page = page.where(tuple_(CaseTask.completed_at, CaseTask.id) < tuple_(at, row_id))
    rows = list(
        session.connection().execute(
            page.order_by(CaseTask.completed_at.desc(), CaseTask.id.desc()).limit(limit + 1)
        )
    )
    items, more = rows[:limit], len(rows) > limit
    return InboxPage(items=items, next=encode_cursor(items[-1].completed_at, items[-1].id) if more else None)
