"""Drafts: a half-filled task form kept per task and user until it is submitted (or the task closes).

A draft is not validated (it is half-filled by definition) beyond being a JSON object of bounded size;
saving one is audited like any change, reading one like any read of the person's data (by the caller)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.db import utcnow
from canbao.errors import FieldError, Invalid, NotFound

from . import task_audit
from .models import CaseTask, TaskDraft

MAX_BYTES = 64 * 1024
_DISCARD = delete(TaskDraft).where(TaskDraft.task_guid == bindparam("guid"))


class DraftNotFound(NotFound):
    code = "draft.not_found"
    title = "没有暂存的草稿"


def get(session: Session, *, actor: Actor, row: CaseTask) -> TaskDraft:
    draft = session.scalar(
        select(TaskDraft).where(TaskDraft.task_guid == row.task_guid, TaskDraft.user_sub == actor.sub)
    )
    if draft is None or row.state != "ready":
        raise DraftNotFound()
    return draft


def saved_at(session: Session, *, actor: Actor, row: CaseTask) -> datetime | None:
    """When the actor last saved a draft of this task, if they have one."""
    return session.scalar(
        select(TaskDraft.saved_at).where(
            TaskDraft.task_guid == row.task_guid, TaskDraft.user_sub == actor.sub
        )
    )


def save(session: Session, *, actor: Actor, row: CaseTask, data: dict[str, Any]) -> TaskDraft:
    """Keep `data` as the actor's draft of a ready task (replacing an earlier one)."""
    size = len(json.dumps(data, ensure_ascii=False).encode())
    if size > MAX_BYTES:
        raise Invalid([FieldError("", "draft.too_large", f"草稿过大（{size} 字节，最多 {MAX_BYTES} 字节）")])
    draft = session.scalar(
        select(TaskDraft)
        .where(TaskDraft.task_guid == row.task_guid, TaskDraft.user_sub == actor.sub)
        .with_for_update()
    )
    if draft is None:
        draft = TaskDraft(task_guid=row.task_guid, user_sub=actor.sub, case_id=row.case_id, data=data)
        session.add(draft)
    draft.data, draft.saved_at = data, utcnow()
    session.flush()
    task_audit.record(session, actor, row, "task.draft_save", {"fields": len(data)})
    return draft


def delete_own(session: Session, *, actor: Actor, row: CaseTask) -> None:
    draft = get(session, actor=actor, row=row)
    session.delete(draft)
    task_audit.record(session, actor, row, "task.draft_delete", {})


def discard(session: Session, *, task_guid: str) -> None:
    """Every draft of a task that was just completed."""
    session.connection().execute(_DISCARD, {"guid": task_guid})
