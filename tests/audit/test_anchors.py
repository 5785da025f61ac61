"""Anchors in the archive: written when due by the worker's loop, kept under the S3 server's own
compliance lock, and read back to check the chains against."""

import uuid
from datetime import timedelta

import pytest

from archive.store import DeletionRefused, LocalStore, S3Store
from canbao.actors import SYSTEM
from canbao.audit import anchors, signing

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
