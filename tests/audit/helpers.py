"""Writing events through `audit.record` and tampering with them the way someone with database access
would (on PostgreSQL as the owner, with the append-only triggers switched off for the transaction)."""

from __future__ import annotations

from sqlalchemy import select, text

from canbao import audit
from canbao.actors import Actor
from canbao.audit import verify
from canbao.audit.chain import FIELDS, event_hash
from canbao.audit.models import AuditChainHead, AuditEvent
from canbao.crypto import Profile
from canbao.crypto.installation import setup_of

CLERK = Actor(sub="platform1", roles=("platform_reviewer",), area="370102001", client_addr="10.0.0.7")
PERSON = "370102199001011237"


def write(db, transactions: int = 6, per_transaction: int = 10) -> None:
    for t in range(transactions):
        with db.sessions() as s, s.begin():
            for i in range(per_transaction):
                audit.record(
                    s,
                    actor=CLERK,
                    action="task.complete",
                    object_type="task",
                    object_id=f"t{t}-{i}",
                    payload={"data": {"phone": "13805310000", "name": "张三"}, "n": i},
                    case_id=t + 1,
                    person_id=PERSON,
                )


def longest_chain(db) -> int:
    with db.sessions() as s:
        return s.scalars(select(AuditChainHead.chain).order_by(AuditChainHead.seq.desc()).limit(1)).one()


def event(db, chain: int, seq: int) -> AuditEvent:
    with db.sessions() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == seq)).one()


def tamper(db, *statements: tuple[str, dict]) -> None:
    postgres = db.dialect == "postgresql"
    with db.engine.begin() as conn:
        if postgres:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))
        for sql, params in statements:
            conn.execute(text(sql), params)
        if postgres:
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain_head ENABLE TRIGGER USER"))


def rehash(db, chain: int, from_seq: int) -> None:
    """Recompute every hash of `chain` from `from_seq` on, and its head: a careful forger's rewrite."""
    with db.sessions() as s:
        rows = list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.chain == chain, AuditEvent.seq >= from_seq - 1)
                .order_by(AuditEvent.seq)
            )
        )
    statements = []
    prev = rows[0].hash if rows[0].seq == from_seq - 1 else rows[0].prev_hash
    for row in rows:
        if row.seq < from_seq:
            continue
        fields = {c: getattr(row, c) for c in FIELDS} | {"prev_hash": prev}
        digest = event_hash(profile=profile(db), **fields)
        statements.append(
            (
                "UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id",
                {"p": prev, "h": digest, "id": row.id},
            )
        )
        prev = digest
    statements.append(("UPDATE audit_chain_head SET hash = :h WHERE chain = :c", {"h": prev, "c": chain}))
    tamper(db, *statements)


def profile(db) -> Profile:
    """The cryptography profile `db` was installed with: a careful forger hashes as it does."""
    return setup_of(db.engine).profile


def run(db, **kwargs) -> verify.Report:
    with db.sessions() as s:
        return verify.run(s, **kwargs)
