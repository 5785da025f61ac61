"""A case's history as a signed JSON file that can be checked offline (`canbao audit verify-export`).

The file carries the timeline for people to read and, for machines, every audit event of the case
with all its hashed fields, so a checker recomputes each event's hash and each link between events
that follow each other in a chain, and checks the signature over the whole file against the office's
public key (see `signing`); the file names its hash (`hash`: sha256, or sm3 under the national
profile). The file holds personal data unmasked (masking would break the hashes): exporting is a read
of the person's data and is recorded as `audit.export`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.crypto import STANDARD, UnknownProfile, by_hash
from canbao.crypto.installation import setup_of
from canbao.db import utcnow

from . import history, signing
from .chain import FIELDS, event_hash
from .models import AuditEvent
from .service import record

KIND = "canbao.audit.case_history"


def case_history(session: Session, *, actor: Actor, case: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The signed export of one case. `case` describes it: id, area, person_id and what else to show."""
    case_id, area, person_id = case["id"], case["area"], case.get("person_id")
    entries = history.entries(session, case_id=case_id)
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id))
    now = utcnow()
    profile = setup_of(session).profile
    document = {
        "type": KIND,
        "version": 1,
        "hash": profile.hash,
        "exported_at": now.isoformat(),
        "exported_by": {"sub": actor.sub, "role": actor.role, "area": actor.area},
        "case": case,
        "timeline": entries,
        "events": [_event(e) for e in events],
    }
    record(
        session,
        actor=actor,
        action="audit.export",
        object_type="case",
        object_id=case_id,
        payload={"route": "GET /audit/cases/{id}/export", "events": len(document["events"])},
        area=area,
        case_id=case_id,
        person_id=person_id,
    )
    return signing.signer(data_dir, profile.signature).sign(document)


def _event(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        **{name: getattr(e, name) for name in FIELDS if name != "at"},
        "at": e.at.isoformat(timespec="microseconds"),
        "hash": e.hash,
    }


@dataclass
class ExportCheck:
    ok: bool = True
    case_id: int | None = None
    events: int = 0
    key_id: str | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "case_id": self.case_id,
            "events": self.events,
            "key_id": self.key_id,
            "problems": self.problems,
        }


def check(content: bytes, *, keys: dict[str, Any]) -> ExportCheck:
    """Check an exported file offline: signature, every event's hash, every link within a chain."""
    result = ExportCheck()
    try:
        document = json.loads(content)
    except ValueError as err:
        result.fail(f"不是合法的 JSON 文件：{err}")
        return result
    if not isinstance(document, dict) or document.get("type") != KIND:
        result.fail("不是 canbao 导出的案件经办记录")
        return result
    result.case_id = (document.get("case") or {}).get("id")
    result.key_id = (document.get("signature") or {}).get("key_id")
    try:
        profile = by_hash(document.get("hash", STANDARD.hash))  # files from before the field: SHA-256
    except UnknownProfile as err:
        result.fail(str(err))
        return result
    why = signing.check(document, keys)
    if why is not None:
        result.fail(why)
    events = document.get("events")
    if not isinstance(events, list):
        result.fail("文件中没有事件列表")
        return result
    result.events = len(events)
    by_position: dict[tuple[int, int], dict[str, Any]] = {}
    for i, e in enumerate(events):
        try:
            fields = {name: e[name] for name in FIELDS}
            fields["at"] = datetime.fromisoformat(e["at"])
            if event_hash(profile=profile, **fields) != e["hash"]:
                result.fail(f"第 {i + 1} 个事件（链 {e['chain']} 第 {e['seq']} 号）的内容与其哈希不符")
            by_position[(e["chain"], e["seq"])] = e
        except (KeyError, TypeError, ValueError, AttributeError):
            result.fail(f"第 {i + 1} 个事件的字段不完整或格式错误")
    for (chain, seq), e in by_position.items():
        before = by_position.get((chain, seq - 1))
        if before is not None and e["prev_hash"] != before["hash"]:
            result.fail(f"链 {chain} 第 {seq} 号事件与第 {seq - 1} 号事件之间的链接断开")
    return result
