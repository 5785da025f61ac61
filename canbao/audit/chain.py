"""Hash chaining of audit events.

Every event's hash is SHA-256 over the canonical text of its fields and the previous event's hash in
the same chain (`canonical_text`). Events are buffered on the session while the action runs and
chained in one short step right before commit, after the action's own rows are flushed: the writer
locks the head row of a chain nobody else holds (`FOR UPDATE SKIP LOCKED` over the heads), numbers
and hashes its events, inserts them and moves the head. Concurrent actions therefore take different
chains and never wait for each other unless every chain is busy; the head lock lasts only for the
tail of the transaction. The chains are the rows of `audit_chain_head` (CHAINS are seeded).

On PostgreSQL that step is one call of the database function `audit_append_events` (migrations 0006,
0010; 0015 makes it hash with pgcrypto's SM3 under the national profile), which hashes over
`sql_canonical_text`: one round trip per commit instead of three, which is what auditing costs a
transition on a busy machine. Elsewhere (SQLite, or a PostgreSQL without pgcrypto under the national
profile) Python does the same. Under the national profile (`canbao.crypto`) SM3 takes the place of
SHA-256 throughout.

Events recorded inside a savepoint that rolls back are dropped with it; an event that cannot be
written fails the commit of the action it records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session, SessionTransaction

from canbao.crypto import STANDARD, Profile
from canbao.crypto.installation import setup_of

from .models import AuditChainHead, AuditEvent

CHAINS = 16
GENESIS = "0" * 64
SEP = "\x1f"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
PENDING = "audit.pending"
MARKS = "audit.savepoints"

# The hashed fields, in the order of the canonical text; `prev_hash` comes last. Changing the canonical
# text needs a migration that recreates audit_append_events() from `sql_canonical_text`.
FIELDS = (
    "chain",
    "seq",
    "at",
    "actor_sub",
    "actor_role",
    "area",
    "client_addr",
    "action",
    "object_type",
    "object_id",
    "case_id",
    "person_id",
    "payload",
    "prev_hash",
)


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
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate from bad input: escape it rather than fail
            text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return text


def format_time(at: datetime) -> str:
    """Microseconds since 1970-01-01 UTC, exact. PostgreSQL renders the same integer cheaply
    (verify.sql_canonical_text), where a formatted date would cost verify a fifth of its time."""
    return str((at - EPOCH) // MICROSECOND)


def clean(text: str | None) -> str:
    """Field text as hashed and stored: the separator cannot occur inside a field (payload JSON escapes
    it), nor NUL or a lone surrogate, which the database would refuse."""
    if text is None:
        return ""
    text = text.replace(SEP, "\ufffd").replace("\x00", "\ufffd")
    return text if text.isascii() else text.encode("utf-8", "replace").decode()


def canonical_text(
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
    return SEP.join(
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


def event_hash(*, profile: Profile = STANDARD, **fields: Any) -> str:
    return profile.hasher()(canonical_text(**fields).encode()).hexdigest()


def sql_canonical_text(value: Callable[[str], str]) -> str:
    """`canonical_text` as a PostgreSQL expression, given the SQL of each field (`value(name)`)."""
    v = value
    special = {
        "chain": f"{v('chain')}::text",
        "seq": f"{v('seq')}::text",
        # epoch seconds as a double are exact to well under a microsecond until the year 2255
        "at": f"(date_part('epoch', {v('at')}) * 1000000)::bigint::text",
        "client_addr": f"coalesce({v('client_addr')}, '')",
        "case_id": f"coalesce({v('case_id')}::text, '')",
        "person_id": f"coalesce({v('person_id')}, '')",
    }
    return "concat_ws(E'\\x1f', " + ", ".join(special.get(f) or v(f) for f in FIELDS) + ")"


def sql_hash(value: Callable[[str], str], profile: Profile = STANDARD) -> str:
    return profile.sql_digest(f"convert_to({sql_canonical_text(value)}, 'UTF8')")


# The fields of an event as audit_append_events() takes them (migration 0010): one JSON array per
# event, in this order.
APPEND_COLUMNS = (
    "at",
    "actor_sub",
    "actor_role",
    "area",
    "client_addr",
    "action",
    "object_type",
    "object_id",
    "case_id",
    "person_id",
    "payload",
)
_APPEND = text("SELECT audit_append_events(CAST(:events AS jsonb))")


def _append_arguments(pending: list[PendingEvent]) -> dict[str, str]:
    rows = [[ev.at.isoformat() if c == "at" else getattr(ev, c) for c in APPEND_COLUMNS] for ev in pending]
    return {"events": json.dumps(rows, ensure_ascii=False, separators=(",", ":"))}


def queue(session: Session, pending: PendingEvent) -> None:
    session.info.setdefault(PENDING, []).append(pending)


def _lock_head(session: Session) -> tuple[int, int, str]:
    """A chain head that no concurrent transaction holds, locked until commit (any head if all are busy)."""
    heads = select(AuditChainHead.chain, AuditChainHead.seq, AuditChainHead.hash)
    row = session.execute(heads.order_by(func.random()).limit(1).with_for_update(skip_locked=True)).first()
    if row is None:
        chain = session.scalar(select(AuditChainHead.chain).order_by(func.random()).limit(1))
        row = session.execute(heads.where(AuditChainHead.chain == chain).with_for_update()).one()
    return row.chain, row.seq, row.hash


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending: list[PendingEvent] = session.info.pop(PENDING, [])
    session.info.pop(MARKS, None)
    if not pending:
        return
    # Write the action's own rows first, so the head stays locked only for the audit tail.
    session.flush()
    setup = setup_of(session)
    if setup.append_in_database:
        session.execute(_APPEND, _append_arguments(pending))
        return
    hasher = setup.profile.hasher()
    chain, seq, prev = _lock_head(session)
    rows = []
    for ev in pending:
        seq += 1
        fields = {**ev.__dict__, "chain": chain, "seq": seq, "prev_hash": prev}
        prev = fields["hash"] = hasher(canonical_text(**fields).encode()).hexdigest()
        rows.append(fields)
    session.execute(AuditEvent.__table__.insert(), rows)
    session.execute(update(AuditChainHead).where(AuditChainHead.chain == chain).values(seq=seq, hash=prev))


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(MARKS, {})[transaction] = len(session.info.get(PENDING, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    mark = session.info.get(MARKS, {}).pop(previous_transaction, None)
    if previous_transaction.nested and mark is not None:
        del session.info.get(PENDING, [])[mark:]
    elif not previous_transaction.nested:
        session.info.pop(PENDING, None)
        session.info.pop(MARKS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # A released savepoint keeps its mark until the transaction ends (after_soft_rollback of a
    # rolled-back one fires after this event and still needs it).
    if transaction.parent is None and not transaction.nested:
        session.info.pop(PENDING, None)
        session.info.pop(MARKS, None)
