"""The append-only audit stream: events chained per shard, and the head of each chain."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from canbao.db import AreaCode, Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain: Mapped[int] = mapped_column(SmallInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    actor_sub: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(AreaCode)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    person_id: Mapped[str | None] = mapped_column(String(18))
    # Canonical JSON text, hashed as stored: a JSON column could reorder or renormalise it.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def payload_json(self) -> dict:
        return json.loads(self.payload)

    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_event_case", "case_id", "id"),
        Index("ix_audit_event_person", "person_id", "id"),
        Index("ix_audit_event_actor", "actor_sub", "id"),
        Index("ix_audit_event_action", "action", "id"),
        Index("ix_audit_event_area", "area", "id"),
        # Events arrive in time order: a block-range index serves time ranges at almost no insert cost.
        Index("ix_audit_event_at", "at", postgresql_using="brin"),
    )


class AuditChainHead(Base):
    __tablename__ = "audit_chain_head"

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditVerification(Base):
    """A verification of the audit log started over the API (`verifications`): how far it got while it
    runs, and its report when it is done. The outcome is also an `audit.verify` event in the log."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    # running → done | failed
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(BigInteger)  # events in the chains when it started
    done: Mapped[int] = mapped_column(BigInteger)
    # Moved on by progress and by a heartbeat while it runs: a run not moved for a while was cut short.
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    report: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
