"""Verify finds every kind of damage at the event where it starts, in PostgreSQL (hashes computed by
the database) and in Python (SQLite, and PostgreSQL as the baseline), and agrees with itself."""

import pytest
from sqlalchemy import select

from canbao.audit import verify
from canbao.audit.anchors import Anchors
from canbao.audit.chain import FIELDS, event_hash
from canbao.audit.models import AuditEvent
from canbao.audit.verify import AnchorPoint

from .helpers import event, longest_chain, profile, rehash, run, tamper, write

METHODS = [True, False]  # hashes in the database (PostgreSQL only), in Python


@pytest.fixture(params=METHODS, ids=["in_database", "in_python"])
def in_database(request) -> bool:
    return request.param


def test_an_untouched_log_verifies(any_db, in_database):
    write(any_db)
    report = run(any_db, in_database=in_database)
    assert report.ok and report.breaks == []
    assert report.events == 60
    assert report.method == ("postgresql" if in_database and any_db.dialect == "postgresql" else "python")
    with any_db.sessions() as s:
        heads = {e.chain: e.hash for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))}
    assert {c.chain: c.last_hash for c in report.chains if c.events} == heads


def test_a_changed_payload_is_found_at_that_event(any_db, in_database):
    write(any_db)
    chain = longest_chain(any_db)
    target = event(any_db, chain, 4)
    tamper(any_db, ("UPDATE audit_event SET payload = :p WHERE id = :id", {"p": '{"n":99}', "id": target.id}))
    report = run(any_db, in_database=in_database)
    assert not report.ok
    [found] = report.breaks
    assert (found.chain, found.seq, found.event_id, found.kind) == (chain, 4, target.id, verify.CHANGED)


def test_a_changed_event_with_its_hash_recomputed_is_found_at_that_event(any_db, in_database):
    write(any_db)
    chain = longest_chain(any_db)
    target = event(any_db, chain, 3)
    tamper(any_db, ("UPDATE audit_event SET actor_sub = 'someone' WHERE id = :id", {"id": target.id}))
    rehash_one(any_db, chain, 3)
    [found] = run(any_db, in_database=in_database).breaks
    assert (found.seq, found.event_id, found.kind) == (3, target.id, verify.CHANGED)
    assert "重新计算" in found.detail


def rehash_one(db, chain: int, seq: int) -> None:
    """Recompute one event's hash only (its successor still points at the old one)."""
    e = event(db, chain, seq)
    digest = event_hash(profile=profile(db), **{c: getattr(e, c) for c in FIELDS})
    tamper(db, ("UPDATE audit_event SET hash = :h WHERE id = :id", {"h": digest, "id": e.id}))


def test_a_deleted_event_is_found_where_the_gap_is(any_db, in_database):
    write(any_db)
    chain = longest_chain(any_db)
    gone, after = event(any_db, chain, 5), event(any_db, chain, 6)
    tamper(any_db, ("DELETE FROM audit_event WHERE id = :id", {"id": gone.id}))
    [found] = run(any_db, in_database=in_database).breaks
    assert (found.seq, found.event_id, found.kind) == (6, after.id, verify.REMOVED)
    assert "第 5 号" in found.detail


def test_deleting_the_first_and_the_last_events_is_found(any_db, in_database):
    write(any_db)
    chain = longest_chain(any_db)
    first = event(any_db, chain, 1)
    with any_db.sessions() as s:
        last_seq = max(s.scalars(select(AuditEvent.seq).where(AuditEvent.chain == chain)))
    tamper(
        any_db,
        ("DELETE FROM audit_event WHERE id = :id", {"id": first.id}),
        ("DELETE FROM audit_event WHERE chain = :c AND seq = :s", {"c": chain, "s": last_seq}),
    )
    [found] = run(any_db, in_database=in_database).breaks
    assert (found.seq, found.kind) == (2, verify.REMOVED) and "第 1 号" in found.detail

    tamper(any_db, ("DELETE FROM audit_event WHERE chain = :c", {"c": chain}))
    [found] = run(any_db, in_database=in_database).breaks
    assert (found.seq, found.event_id, found.kind) == (1, None, verify.REMOVED)
    assert f"链头记录到第 {last_seq} 号" in found.detail


def test_two_swapped_events_are_found_as_reordered(any_db, in_database):
    write(any_db)
    chain = longest_chain(any_db)
    a, b = event(any_db, chain, 3), event(any_db, chain, 7)
    swap = "UPDATE audit_event SET seq = :s WHERE id = :id"
    tamper(
        any_db,
        (swap, {"s": -1, "id": a.id}),
        (swap, {"s": 3, "id": b.id}),
        (swap, {"s": 7, "id": a.id}),
    )
    [found] = run(any_db, in_database=in_database).breaks
    assert (found.seq, found.event_id, found.kind) == (3, b.id, verify.REORDERED)


def test_a_rewritten_tail_and_head_pass_the_chain_but_not_the_anchor(any_db, in_database):
    write(any_db)
    chain = longest_chain(any_db)
    anchored = event(any_db, chain, 8)
    points = [AnchorPoint(chain, 8, anchored.hash, "audit/anchors/test.json")]
    tamper(
        any_db, ("UPDATE audit_event SET payload = '{}' WHERE id = :id", {"id": event(any_db, chain, 5).id})
    )
    rehash(any_db, chain, 5)
    assert run(any_db, in_database=in_database).ok
    report = run(any_db, in_database=in_database, anchors=Anchors(points=points, count=1, problems=[]))
    [found] = report.breaks
    assert (found.seq, found.event_id, found.kind) == (8, anchored.id, verify.REWRITTEN)
    assert "audit/anchors/test.json" in found.detail


def test_each_chain_names_its_own_first_break(any_db):
    write(any_db, transactions=8, per_transaction=4)
    with any_db.sessions() as s:
        chains = sorted(set(s.scalars(select(AuditEvent.chain))))
    assert len(chains) >= 2
    first, second = chains[:2]
    tamper(
        any_db,
        ("UPDATE audit_event SET area = '11' WHERE chain = :c AND seq = 2", {"c": first}),
        ("UPDATE audit_event SET area = '11' WHERE chain = :c AND seq IN (1, 3)", {"c": second}),
    )
    breaks = {b.chain: b.seq for b in run(any_db).breaks}
    assert breaks == {first: 2, second: 1}
