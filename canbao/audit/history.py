"""One timeline of a case for its readers and auditors: workflow steps, decisions with their reasons,
field changes old → new, documents added and read, and who looked at the case.

Workflow steps, decisions and documents come from the case's audit events. Field changes come from
the registry's own field history (`field_change`), each matched against the chained
`registry.field_change` event that must accompany it: a history row without its event, or an event
whose row is gone, means the registry was edited outside canbao, and the entry says so. `canbao`
sits below the registry package, so the table is read by name here, not through its model.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, String, Text, column, select, table
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.db import UTCDateTime

from .models import AuditEvent
from .service import record

FIELD_CHANGE = table(
    "field_change",
    column("id", BigInteger),
    column("person_id", String),
    column("field", String),
    column("old", Text),
    column("new", Text),
    column("at", UTCDateTime()),
    column("source", String),
    column("case_id", BigInteger),
    column("actor_sub", String),
)

TITLES = {
    "case.start": "发起案件",
    "case.complete": "案件办结",
    "case.escalate": "退回次数超限，升级处理",
    "case.migrate": "迁移到新的流程版本",
    "task.ready": "生成待办任务",
    "task.claim": "认领任务",
    "task.unclaim": "退回任务池",
    "task.assign": "分派任务",
    "task.complete": "提交任务",
    "task.return": "退回补正",
    "task.cancel": "任务取消",
    "gateway.taken": "流程走向",
    "timer.fire": "时限到期",
    "service.run": "自动处理",
    "registry.store": "入库",
    "registry.change": "变更入库",
    "registry.field_change": "登记信息变更",
    "document.add": "上传材料",
    "document.read": "查看材料",
    "archive.seal": "归档",
    "person.read": "查看个人信息",
    "audit.read": "查看审计记录",
    "audit.export": "导出经办记录",
}

KIND_OF = {
    "task.complete": "task",
    "task.return": "decision",
    "registry.field_change": "field_change",
    "document.add": "document",
    "document.read": "document",
    "archive.seal": "document",
    "registry.store": "registry",
    "registry.change": "registry",
}


def timeline(
    session: Session, *, actor: Actor, case_id: int, area: str, person_id: str | None
) -> list[dict[str, Any]]:
    """The case's timeline, oldest first; reading it is a read of the person's data and is recorded."""
    result = entries(session, case_id=case_id)
    record(
        session,
        actor=actor,
        action="person.read" if person_id else "case.read",
        object_type="case",
        object_id=case_id,
        payload={"purpose": "case_history", "route": "GET /cases/{id}/history"},
        area=area,
        case_id=case_id,
        person_id=person_id,
    )
    return result


def entries(session: Session, *, case_id: int) -> list[dict[str, Any]]:
    events = list(
        session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id))
    )
    rows = session.execute(
        select(FIELD_CHANGE).where(FIELD_CHANGE.c.case_id == case_id).order_by(FIELD_CHANGE.c.id)
    ).all()
    result = [_entry(e) for e in events if e.action != "registry.field_change"]
    result.extend(_field_changes(events, rows))
    result.sort(key=lambda e: (e["at"], e["seq"] or 0))
    return result


def _entry(event: AuditEvent) -> dict[str, Any]:
    payload = json.loads(event.payload)
    entry = {
        "seq": event.id,
        "at": event.at.isoformat(),
        "kind": KIND_OF.get(event.action) or event.action.split(".")[0],
        "action": event.action,
        "title": TITLES.get(event.action, event.action),
        "actor": event.actor_sub,
        "role": event.actor_role,
        "client_addr": event.client_addr,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "payload": payload,
    }
    data = payload.get("data") if isinstance(payload.get("data"), dict) else None
    if event.action in ("task.complete", "task.return") and data and "decision" in data:
        entry["kind"] = "decision"
        entry["decision"] = {
            "task": payload.get("task"),
            "name": payload.get("name"),
            "decision": data.get("decision"),
            "reason": data.get("reason"),
            "return_items": data.get("return_items"),
        }
    return entry


def _field_changes(events: list[AuditEvent], rows: list[Any]) -> list[dict[str, Any]]:
    """Field history rows matched one-to-one with their `registry.field_change` events."""
    unmatched: dict[tuple, list[AuditEvent]] = defaultdict(list)
    for e in events:
        if e.action == "registry.field_change":
            p = json.loads(e.payload)
            unmatched[(e.person_id, p.get("field"), p.get("old"), p.get("new"))].append(e)
    entries = []
    for row in rows:
        candidates = unmatched.get((row.person_id, row.field, row.old, row.new))
        event = candidates.pop(0) if candidates else None
        entries.append(
            _change_entry(row.field, row.old, row.new, row.at, row.actor_sub, row.person_id, event, True)
        )
    for left in unmatched.values():
        for e in left:
            p = json.loads(e.payload)
            entries.append(
                _change_entry(
                    p.get("field"), p.get("old"), p.get("new"), e.at, e.actor_sub, e.person_id, e, False
                )
            )
    return entries


def _change_entry(
    field, old, new, at, actor_sub, person_id, event: AuditEvent | None, in_registry: bool
) -> dict:
    entry = {
        "seq": event.id if event else None,
        "at": at.isoformat(),
        "kind": "field_change",
        "action": "registry.field_change",
        "title": TITLES["registry.field_change"],
        "actor": actor_sub,
        "role": event.actor_role if event else None,
        "client_addr": event.client_addr if event else None,
        "object_type": "person",
        "object_id": person_id,
        "payload": {"field": field, "old": old, "new": new},
        "audited": event is not None,
        "in_registry": in_registry,
    }
    if event is None:
        entry["warning"] = "登记库中有此变更，但审计日志中没有对应事件：可能是绕过系统直接修改了数据库"
    elif not in_registry:
        entry["warning"] = "审计日志记录了此变更，但登记库的变更历史中已没有该记录：变更历史可能被删改"
    return entry


def submissions(session: Session, *, case_id: int, exclude_form: str) -> list[dict[str, Any]]:
    """The forms submitted in a case (`task.complete` events, reviews' `exclude_form` left out), oldest
    first: seq, at, actor, task, name, form, data."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_id == case_id, AuditEvent.action == "task.complete")
        .order_by(AuditEvent.id)
    )
    found = []
    for e in events:
        p = json.loads(e.payload)
        if p.get("form") and p["form"] != exclude_form and isinstance(p.get("data"), dict):
            found.append(
                {
                    "seq": e.id,
                    "at": e.at,
                    "actor": e.actor_sub,
                    "task": p.get("task"),
                    "name": p.get("name"),
                    "form": p["form"],
                    "data": p["data"],
                }
            )
    return found
