"""The audit event of something done to one task: named by the task, in the case's area and person."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor

from .models import CaseTask


def record(session: Session, actor: Actor, row: CaseTask, action: str, payload: dict[str, Any]) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="task",
        object_id=row.task_guid,
        payload={"task": row.spec_name, **payload},
        area=row.area,
        case_id=row.case_id,
        person_id=row.person_id,
    )
