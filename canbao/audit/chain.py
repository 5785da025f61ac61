"""Hash chaining of audit events.

Every event's hash is SHA-256 over its fields and the previous event's hash in the same chain.
Events are buffered on the session while the action runs and chained in one short step right
before commit: the writer locks the head row of one of CHAINS chains, numbers and hashes its
events, inserts them and moves the head. Writers only queue on the same chain, and only for the
tail of their transaction, so concurrent actions do not serialise on one global lock.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from .models import AuditChainHead, AuditEvent

CHAINS = 16
GENESIS = "0" * 64
SEP = "\x1f"
PENDING = "audit.pending"


@dataclass(frozen=True)
class PendingEvent:
    at: datetime
    actor_sub: str
    actor_role: str
    area: str
    client_addr: str | None
    action: str
    object_type: str
    object_id: str
    case_id: int | None
    person_id: str | None
    payload: str


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def format_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clean(text: str | None) -> str:
    """Field text as hashed: the separator cannot occur inside a field (payload JSON escapes it)."""
    return "" if text is None else text.replace(SEP, "\ufffd")


def event_hash(
    *,
    chain: int,
    seq: int,
    at: datetime,
    actor_sub: str,
    actor_role: str,
    area: str,
    client_addr: str | None,
    action: str,
    object_type: str,
    object_id: str,
    case_id: int | None,
    person_id: str | None,
    payload: str,
    prev_hash: str,
) -> str:
    text = SEP.join(
        (
            str(chain),
            str(seq),
            format_time(at),
            actor_sub,
            actor_role,
            area,
            client_addr or "",
            action,
            object_type,
            object_id,
            "" if case_id is None else str(case_id),
            person_id or "",
            payload,
            prev_hash,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def queue(session: Session, pending: PendingEvent) -> None:
    session.info.setdefault(PENDING, []).append(pending)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending: list[PendingEvent] = session.info.pop(PENDING, [])
    if not pending:
        return
    chain = random.randrange(CHAINS)
    seq, prev = session.execute(
        select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.chain == chain).with_for_update()
    ).one()
    rows = []
    for ev in pending:
        seq += 1
        fields = {**ev.__dict__, "chain": chain, "seq": seq}
        digest = event_hash(**fields, prev_hash=prev)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditChainHead).where(AuditChainHead.chain == chain).values(seq=seq, hash=prev))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)
