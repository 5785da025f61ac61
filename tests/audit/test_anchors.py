"""Anchors in the archive: written when due by the worker's loop, kept under the S3 server's own
compliance lock, and read back to check the chains against."""

import threading
import uuid
from datetime import timedelta

import pytest

from archive.store import DeletionRefused, LocalStore, S3Store
from canbao.actors import SYSTEM
from canbao.audit import anchors, signing
from canbao.db import utcnow
from composition.cli import worker_command

from .helpers import longest_chain, rehash, run, tamper, write


def test_written_when_due_and_only_with_new_events(db, tmp_path):
    store = LocalStore(tmp_path / "archive")
    write(db, transactions=2, per_transaction=3)

    def due(every: timedelta):
        with db.sessions() as s, s.begin():
            return anchors.write_if_due(s, store, actor=SYSTEM, data_dir=tmp_path, every=every)

    first = due(timedelta(hours=1))
    assert first is not None and first.events == 6
    assert due(timedelta(hours=1)) is None  # not due yet
    assert due(timedelta(0)) is None  # due, but nothing new since (its own event aside)
    write(db, transactions=1, per_transaction=2)
    second = due(timedelta(0))
    assert second is not None and second.events == 6 + 1 + 2
    found = anchors.read_all(store, data_dir=tmp_path)
    assert (found.count, found.problems) == (2, [])
    assert {p.anchor for p in found.points} == {first.key, second.key}
    assert run(db, anchors=found).ok


def test_an_anchor_signed_by_an_unknown_key_is_reported(db, tmp_path):
    store = LocalStore(tmp_path / "archive")
    write(db, transactions=1, per_transaction=2)
    with db.sessions() as s, s.begin():
        anchors.write(s, store, actor=SYSTEM, data_dir=tmp_path)
    for key in signing.key_dir(tmp_path).glob("*.pub.pem"):
        key.unlink()  # the verifier no longer trusts the key that signed it
    found = anchors.read_all(store, data_dir=tmp_path)
    assert found.points == [] and "不在受信任的公钥之列" in found.problems[0]
    assert not run(db, anchors=found).ok


@pytest.mark.s3
def test_anchors_on_s3_are_locked_and_catch_a_rewritten_chain(db, tmp_path, s3_server):
    store = S3Store(
        s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        bucket=f"canbao-test-{uuid.uuid4().hex[:12]}",
    )
    write(db)
    with db.sessions() as s, s.begin():
        anchor = anchors.write(s, store, actor=SYSTEM, data_dir=tmp_path)
    [stored] = list(store.list(anchors.PREFIX))
    assert stored.key == anchor.key
    assert store.protection == "compliance"
    with pytest.raises(DeletionRefused):  # the server's own refusal, for 100 years
        store.delete(stored.key, stored.version)

    chain = longest_chain(db)
    tamper(db, ("UPDATE audit_event SET payload = '{}' WHERE chain = :c AND seq = 2", {"c": chain}))
    rehash(db, chain, 2)
    report = run(db, anchors=anchors.read_all(store, data_dir=tmp_path))
    [found] = report.breaks
    assert (found.chain, found.kind) == (chain, "rewritten") and anchor.key in found.detail


def test_verify_counts_the_events_no_anchor_covers_yet(any_db, tmp_path):
    """Events after the newest anchor are attested by nothing outside the database: someone able to
    switch the triggers off could delete them and rewind the head unseen. Verify says how many there are."""
    store = LocalStore(tmp_path / "archive")
    write(any_db, transactions=2, per_transaction=3)
    assert run(any_db).unanchored is None  # anchors not read: unknown
    before = run(any_db, anchors=anchors.read_all(store, data_dir=tmp_path))
    assert (before.unanchored, before.newest_anchor) == (6, None)

    with any_db.sessions() as s, s.begin():
        anchor = anchors.write(s, store, actor=SYSTEM, data_dir=tmp_path)
    write(any_db, transactions=1, per_transaction=4)
    report = run(any_db, anchors=anchors.read_all(store, data_dir=tmp_path))
    assert report.ok and report.unanchored == 1 + 4  # the anchor's own event and the four since
    assert report.newest_anchor == anchor.key
    shown = report.as_dict()
    assert shown["unanchored_events"] == 5 and sum(c["unanchored"] for c in shown["chains"]) == 5


def test_the_worker_anchors_within_a_minute_of_new_events(db, tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "archive")
    assert timedelta(minutes=1) >= anchors.EVERY
    assert worker_command.__defaults__[1].default == anchors.EVERY.total_seconds()  # the worker's default

    def chore():
        with db.sessions() as s, s.begin():
            return anchors.write_if_due(s, store, actor=SYSTEM, data_dir=tmp_path, every=anchors.EVERY)

    write(db, transactions=1, per_transaction=3)
    assert chore() is not None  # the first events: anchored on the worker's first poll
    write(db, transactions=1, per_transaction=2)
    assert chore() is None  # within the minute
    later = utcnow() + anchors.EVERY + timedelta(seconds=1)
    monkeypatch.setattr(anchors, "utcnow", lambda: later)
    covered = chore()
    assert covered is not None and covered.events == 3 + 1 + 2
    assert run(db, anchors=anchors.read_all(store, data_dir=tmp_path)).unanchored == 1


def test_workers_polling_together_write_one_anchor(db, tmp_path):
    store = LocalStore(tmp_path / "archive")
    write(db, transactions=1, per_transaction=3)
    barrier = threading.Barrier(4)
    written: list = []

    def chore() -> None:
        with db.sessions() as s, s.begin():
            barrier.wait()
            written.append(
                anchors.write_if_due(s, store, actor=SYSTEM, data_dir=tmp_path, every=anchors.EVERY)
            )

    threads = [threading.Thread(target=chore) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(written) == 4 and sum(a is not None for a in written) == 1
    assert anchors.read_all(store, data_dir=tmp_path).count == 1
