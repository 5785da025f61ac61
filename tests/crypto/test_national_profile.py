"""The national cryptography profile (商用密码, GB/T 39786-2021): a database installed with
CANBAO_CRYPTO=gm records it, chains its audit events with SM3 (in PostgreSQL through pgcrypto, in
Python where that is missing), signs anchors and exports with SM2 — checkable offline and by OpenSSL —
and refuses to switch profile once its audit log holds events. The tamper tests of tests/audit run
under it too (their `any_db` includes the gm databases)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from archive.store import LocalStore
from canbao import migrate
from canbao.actors import SYSTEM
from canbao.audit import anchors, export, signing, verify
from canbao.audit.chain import FIELDS, canonical_text
from canbao.audit.models import AuditEvent
from canbao.crypto import GM, STANDARD
from canbao.crypto.installation import Installation, ProfileLocked, setup_of
from canbao.db import make_engine
from composition.cli import app

from ..audit.helpers import CLERK, PERSON, longest_chain, tamper, write
from ..backup.conftest import new_pg_database
from ..conftest import crypto_profile


@pytest.fixture
def gm_db(gm_pg_database):
    gm_pg_database.reset()
    return gm_pg_database


def stored_events(db) -> list[AuditEvent]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_the_choice_is_recorded_and_the_chain_is_hashed_with_sm3_in_postgresql(gm_db):
    with gm_db.sessions() as s:
        assert s.get(Installation, 1).crypto == "gm"
    setup = setup_of(gm_db.engine)
    assert (setup.profile, setup.append_in_database, setup.verify_in_database) == (GM, True, True)
    write(gm_db, transactions=2, per_transaction=3)
    for e in stored_events(gm_db):
        canonical = canonical_text(**{f: getattr(e, f) for f in FIELDS}).encode()
        assert e.hash == hashlib.new("sm3", canonical).hexdigest() != hashlib.sha256(canonical).hexdigest()
    report = verify.run(gm_db.sessions())
    assert report.ok and report.method == "postgresql" and report.events == 6


def test_without_sm3_in_the_database_chains_are_appended_and_verified_in_python():
    with new_pg_database(migrated=True, crypto="gm") as db:
        with db.engine.begin() as conn:
            conn.execute(text("DROP FUNCTION audit_append_events(jsonb)"))
            conn.execute(text("DROP EXTENSION pgcrypto"))
        assert setup_of(db.engine) == setup_of(db.engine).__class__(GM, False, False)
        write(db, transactions=2, per_transaction=3)
        report = verify.run(db.sessions())
        assert report.ok and report.method == "python" and report.events == 6
        target = [e for e in stored_events(db) if e.chain == longest_chain(db)][1]
        tamper(db, ("UPDATE audit_event SET payload = '{}' WHERE id = :id", {"id": target.id}))
        [found] = verify.run(db.sessions()).breaks
        assert (found.event_id, found.kind) == (target.id, verify.CHANGED)


def test_the_profile_switches_only_while_the_audit_log_is_empty():
    with new_pg_database(migrated=True) as db:
        assert setup_of(db.engine).profile is STANDARD
        with crypto_profile("gm"):
            migrate.upgrade(db.url)  # no events yet: allowed
        engine = make_engine(db.url)  # a new engine reads the recorded choice anew
        assert setup_of(engine).profile is GM
        with engine.connect() as conn:
            assert conn.execute(text("SELECT crypto FROM installation")).scalar() == "gm"
        engine.dispose()
        write(db, transactions=1, per_transaction=2)
        with crypto_profile("standard"), pytest.raises(ProfileLocked) as refused:
            migrate.upgrade(db.url)
        assert "已有事件" in refused.value.detail and "gm" in refused.value.detail
        with crypto_profile("gm"):
            migrate.upgrade(db.url)  # the recorded profile itself: nothing to do


def test_anchors_and_exports_are_signed_with_sm2_and_checked_offline_and_by_openssl(gm_db, tmp_path):
    write(gm_db, transactions=2, per_transaction=3)
    store = LocalStore(tmp_path / "archive")
    with gm_db.sessions() as s, s.begin():
        anchor = anchors.write(s, store, actor=SYSTEM, data_dir=tmp_path)
    document = json.loads(b"".join(store.open(anchor.key, None)))
    assert document["signature"]["alg"] == "SM2"
    found = anchors.read_all(store, data_dir=tmp_path)
    assert found.problems == [] and verify.run(gm_db.sessions(), anchors=found).ok

    [public] = signing.key_dir(tmp_path).glob("*.pub.pem")
    # The signature is standard SM2 (Z with the default ID, SM3): OpenSSL 3 checks it too.
    (tmp_path / "signed").write_bytes(signing.canonical_bytes(document))
    (tmp_path / "sig").write_bytes(base64.b64decode(document["signature"]["value"]))
    args = ["pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin", "-digest", "sm3"]
    args += ["-in", str(tmp_path / "signed"), "-sigfile", str(tmp_path / "sig")]
    checked = subprocess.run(
        ["openssl", *args, "-pkeyopt", "distid:1234567812345678"], capture_output=True, text=True
    )
    assert "Signature Verified Successfully" in checked.stdout, checked.stderr

    case = {"id": 1, "area": CLERK.area, "person_id": PERSON}
    with gm_db.sessions() as s, s.begin():
        exported = export.case_history(s, actor=CLERK, case=case, data_dir=tmp_path)
    assert (exported["hash"], exported["signature"]["alg"]) == ("sm3", "SM2")
    file = tmp_path / "export.json"
    file.write_text(json.dumps(exported, ensure_ascii=False))
    result = CliRunner().invoke(app, ["audit", "verify-export", str(file), "--public-key", str(public)])
    assert result.exit_code == 0, result.output
    assert f"{len(exported['events'])} 个事件" in result.output

    exported["events"][1]["payload"] = '{"n":99}'  # an altered event: its SM3 no longer matches
    checked = export.check(json.dumps(exported).encode(), keys=signing.load_public_keys(public))
    assert not checked.ok and any("内容与其哈希不符" in p for p in checked.problems)
    assert any("签名无效" in p for p in checked.problems)
