"""Anchors: the head of every chain, signed and written to the archive, so that rewriting a whole
chain in the database (every hash recomputed) is caught too — the rewritten chain no longer passes
through the hashes the archive keeps.

The worker writes one when EVERY has passed and events were added since the last one
(`write_if_due`), so that events attested by nothing outside the database are at most about a minute's
worth (verify counts them); `canbao audit anchor` and `POST /api/v1/audit/anchors` write one on demand.
Objects go under `audit/anchors/` with compliance retention where the store supports it, keyed by
time so that listing them gives their order. `canbao.audit` sits below the archive package, so it
takes the store as an argument: anything with the archive's `put` / `open` / `list` will do.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.crypto.installation import setup_of
from canbao.db import utcnow

from . import signing
from .models import AuditChainHead, AuditEvent
from .service import record
from .verify import AnchorPoint

PREFIX = "audit/anchors/"
KIND = "canbao.audit.anchor"
ACTION = "audit.anchor"
# Anchors attest the log of personal registration material, which is kept for 100 years.
RETENTION = timedelta(days=366 * 100)
# How often the worker anchors while events come in: one small object a minute.
EVERY = timedelta(minutes=1)
# Workers polling at once take turns (PostgreSQL advisory lock, for the transaction).
_LOCK = 0x63616E62  # "canb"


class StoredObject(Protocol):
    key: str
    version: str | None


class AnchorStore(Protocol):
    def put(
        self, key: str, data: BinaryIO, size: int, *, media_type: str, retain_until: datetime | None = None
    ) -> str | None: ...

    def open(self, key: str, version: str | None) -> Iterable[bytes]: ...

    def list(self, prefix: str) -> Iterator[StoredObject]: ...


@dataclass(frozen=True)
class Anchor:
    key: str
    at: datetime
    events: int
    chains: list[dict[str, Any]]


def write(session: Session, store: AnchorStore, *, actor: Actor, data_dir: Path) -> Anchor:
    """Sign the current chain heads and store them; recorded as an `audit.anchor` event."""
    at = utcnow()
    heads = session.execute(
        select(AuditChainHead.chain, AuditChainHead.seq, AuditChainHead.hash).order_by(AuditChainHead.chain)
    ).all()
    chains = [{"chain": h.chain, "seq": h.seq, "hash": h.hash} for h in heads]
    events = sum(h.seq for h in heads)
    document = signing.signer(data_dir, setup_of(session).profile.signature).sign(
        {"type": KIND, "version": 1, "at": at.isoformat(), "events": events, "chains": chains}
    )
    body = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1).encode()
    key = f"{PREFIX}{at:%Y/%m/%d}/{at:%Y%m%dT%H%M%S%fZ}.json"
    version = store.put(
        key, io.BytesIO(body), len(body), media_type="application/json", retain_until=at + RETENTION
    )
    record(
        session,
        actor=actor,
        action=ACTION,
        object_type="anchor",
        object_id=key,
        payload={"events": events, "version": version, "key_id": document["signature"]["key_id"]},
        area="",
    )
    return Anchor(key=key, at=at, events=events, chains=chains)


def last(session: Session) -> tuple[datetime, int] | None:
    """When the newest anchor was written and how many events it covered."""
    row = session.execute(
        select(AuditEvent.at, AuditEvent.payload)
        .where(AuditEvent.action == ACTION)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    return (row.at, json.loads(row.payload).get("events", 0)) if row else None


def write_if_due(
    session: Session, store: AnchorStore, *, actor: Actor, data_dir: Path, every: timedelta
) -> Anchor | None:
    """An anchor when `every` has passed since the last one and events were added since."""
    if session.get_bind().dialect.name == "postgresql" and not session.scalar(
        select(func.pg_try_advisory_xact_lock(_LOCK))
    ):
        return None  # another worker is writing one now
    previous = last(session)
    if previous is not None:
        at, events = previous
        if utcnow() - at < every:
            return None
        # The previous anchor's own event is the only one since: nothing new to attest.
        if sum(session.scalars(select(AuditChainHead.seq))) <= events + 1:
            return None
    return write(session, store, actor=actor, data_dir=data_dir)


@dataclass
class Anchors:
    """Every anchor the archive holds, as points to check the chains against."""

    points: list[AnchorPoint]
    count: int
    problems: list[str]


def read_all(store: AnchorStore, *, data_dir: Path) -> Anchors:
    keys = signing.trusted_keys(data_dir)
    points: list[AnchorPoint] = []
    problems: list[str] = []
    count = 0
    for obj in store.list(PREFIX):
        count += 1
        try:
            document = json.loads(b"".join(store.open(obj.key, obj.version)))
        except ValueError:
            problems.append(f"锚点 {obj.key} 不是合法的 JSON")
            continue
        if not isinstance(document, dict) or document.get("type") != KIND:
            problems.append(f"锚点 {obj.key} 不是审计锚点文件")
            continue
        why = signing.check(document, keys)
        if why is not None:
            problems.append(f"锚点 {obj.key}：{why}")
            continue
        points.extend(
            AnchorPoint(chain=int(c["chain"]), seq=int(c["seq"]), hash=str(c["hash"]), anchor=obj.key)
            for c in document.get("chains", [])
        )
    return Anchors(points=points, count=count, problems=problems)
