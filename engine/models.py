"""Process definitions, cases, the inbox projection and the wake-up table.

A case is one row holding the lean serialized workflow (the spec stays in `process_definition`);
everything that is queried (inbox, due timers, deferred operations) lives in projection rows that
are rewritten in the same transaction as the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from canbao.db import AreaCode, Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class ProcessDefinition(Base):
    """One immutable version of a process. Edits are new versions; none is ever rewritten."""

    __tablename__ = "process_definition"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    dmn: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sha256: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("key", "version"),)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100))
    # running: waits for people or timers; waiting: a deferred operation is due (e.g. 归档);
    # completed: reached an end event (outcome is its name).
    status: Mapped[str] = mapped_column(String(16), default="running")
    status_detail: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(100))
    area: Mapped[str] = mapped_column(AreaCode)
    person_id: Mapped[str | None] = mapped_column(String(18), index=True)
    person_name: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_case_area", "area", "id"),
        Index("ix_case_status", "process_key", "status"),
        # One open case per person and process: a second survey of the same person is a conflict.
        Index(
            "uq_cases_open_per_person",
            "process_key",
            "person_id",
            unique=True,
            postgresql_where=text("status IN ('running', 'waiting') AND person_id IS NOT NULL"),
            sqlite_where=text("status IN ('running', 'waiting') AND person_id IS NOT NULL"),
        ),
    )


# The inbox is read per county and per township in due-date order: one partial index per level, keyed
# on the area prefix and covering every column the inbox filters on, so a page is an index-only scan;
# and one per level in age order. (Migration 0003 creates them, and statistics on the prefixes.)
INBOX_LEVELS = {6: "county", 9: "township"}
_INBOX_COVERS = ["area", "assignee", "process_key", "team_id", "person_id", "person_name", "created_at"]
_READY_ONLY = {"postgresql_where": text("state = 'ready'"), "sqlite_where": text("state = 'ready'")}


class CaseTask(Base):
    """Inbox projection: one row per user task that became ready; kept after completion for history."""

    __tablename__ = "case_task"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    spec_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(AreaCode)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    process_key: Mapped[str] = mapped_column(String(100))
    form_key: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(18))
    person_name: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="ready")
    assignee: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    # 督办: when the task's supervision timer found it overdue, and the county's reminders since.
    supervised_at: Mapped[datetime | None]
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None]
    # A task opened again by a return (退回补正) goes back to whoever last did it, and says who returned it.
    returned_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_case_task_inbox", "role", "area", "due_at", "id", **_READY_ONLY),
        *(
            Index(
                f"ix_case_task_inbox_{name}",
                "role",
                func.substr(text("area"), 1, length),
                "due_at",
                "id",
                postgresql_include=_INBOX_COVERS,
                **_READY_ONLY,
            )
            for length, name in INBOX_LEVELS.items()
        ),
        *(
            Index(
                f"ix_case_task_inbox_{name}_age",
                "role",
                func.substr(text("area"), 1, length),
                "created_at",
                "id",
                **_READY_ONLY,
            )
            for length, name in INBOX_LEVELS.items()
        ),
        Index("ix_case_task_assignee", "assignee", "due_at", "id", **_READY_ONLY),
        Index("ix_case_task_person", "person_id", **_READY_ONLY),
        Index("ix_case_task_done", "completed_by", "completed_at", "id"),  # 已办: what a user completed
    )


class CaseWakeup(Base):
    """Work due at a time: a boundary timer to fire, or a deferred operation to (re)try."""

    __tablename__ = "case_wakeup"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))  # "timer" | "operation"
    operation: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("task_guid", "kind"),)


class CountyAuthorization(Base):
    """A city's authorization for a county to 审定 (see `grants`): of survey data (第十九条, granted by the
    市级经办机构) or of changes (第二十一条, granted by the 市级人力资源社会保障部门)."""

    __tablename__ = "county_authorization"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    county: Mapped[str] = mapped_column(String(6), index=True)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class TaskDraft(Base):
    """A half-filled form saved by the user working a task, to resume later; gone once the task is done."""

    __tablename__ = "task_draft"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_guid: Mapped[str] = mapped_column(ForeignKey("case_task.task_guid", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    data: Mapped[dict[str, Any]]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("task_guid", "user_sub"),)
