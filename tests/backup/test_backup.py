"""第二十六条 容灾备份: a backup of a running office restores into an empty deployment, proves itself
(audit chains with their anchors, archive, counts), and lets the office go on; a backup with any
altered, missing or extra file, a wrong key or an untrusted signature is refused before anything is
written, and so is a restore into a deployment that is not empty."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from minio.commonconfig import COMPLIANCE
from sqlalchemy import select, text
from typer.testing import CliRunner

from archive import verify as archive_verify
from archive.models import ArchivePackage, Document, RestoredVersion
from backup import database
from backup.create import create
from backup.deployment import Deployment
from backup.drill import drill
from backup.errors import BackupKeyProblem, BackupRefused
from backup.restore import restore
from canbao.audit import signing
from canbao.config import get_settings
from canbao.crypto.signatures import ED25519
from composition.cli import app
from engine import worker

from ..engine.office import APPROVE
from .conftest import (
    COUNTED,
    KEY,
    OPERATOR,
    build_office,
    counts,
    new_pg_database,
    new_sqlite_database,
    serve,
    target_store,
)

pytestmark = pytest.mark.s3


@pytest.fixture
def office(backend, request, tmp_path, s3_server):
    source = request.getfixturevalue("db" if backend == "postgresql" else "sqlite_database")
    source.reset()
    return build_office(source, tmp_path / "office", s3_server)


def empty_target(backend, tmp_path):
    if backend == "postgresql":
        return new_pg_database(migrated=True)
    return new_sqlite_database(tmp_path / "restored.db", migrated=False)


def tampered(backup: Path, tmp_path: Path, name: str, change) -> Path:
    copy = tmp_path / f"tampered-{name}"
    shutil.copytree(backup, copy)
    change(copy)
    return copy


def flip_byte(path: Path, at: int = -40) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_tampered_backups_are_refused_and_a_clean_one_restores_and_goes_on(
    backend, office, tmp_path, s3_server
):
    before = counts(office.api.db)
    backup = tmp_path / "backup"
    created = create(office.deployment, backup, master=KEY, actor=OPERATOR)
    listed = {f["name"] for f in created.manifest["files"]}
    assert {"database.enc", "objects.enc"} <= listed and any(n.startswith("keys/") for n in listed)
    objects = sorted(n for n in listed if n.startswith("objects/"))
    assert len(objects) == 3 + 1 + 1  # three documents, one sealed manifest, one anchor
    assert created.manifest["crypto"] == {
        "profile": "standard",
        "hash": "sha256",
        "signature": "Ed25519",
        "cipher": "AES-256-GCM",
    }
    # Encrypted: the paperwork and the database are not readable in the backup.
    assert b"%PDF" not in b"".join((backup / n).read_bytes() for n in objects)
    assert b"surveyor1" not in (backup / "database.enc").read_bytes()
    assert {t: created.manifest["counts"][t] for t in COUNTED} == before
    trusted = signing.trusted_keys(office.api.settings.data_dir)

    store = target_store(s3_server)
    with empty_target(backend, tmp_path) as target:
        deployment = Deployment(target.url, store, tmp_path / "restored-data")

        def refused(directory: Path, **kw) -> list[str]:
            with pytest.raises(BackupRefused) as err:
                restore(
                    directory, deployment, **({"master": KEY, "trusted": trusted, "actor": OPERATOR} | kw)
                )
            return err.value.problems

        one_object = objects[0]
        assert refused(tampered(backup, tmp_path, "object", lambda d: flip_byte(d / one_object))) == [
            f"{one_object}：内容被改动（SHA256 与清单不符）"
        ]
        assert refused(tampered(backup, tmp_path, "db", lambda d: flip_byte(d / "database.enc", 100))) == [
            "database.enc：内容被改动（SHA256 与清单不符）"
        ]
        assert refused(tampered(backup, tmp_path, "missing", lambda d: (d / "objects.enc").unlink())) == [
            "objects.enc：缺失"
        ]
        assert refused(
            tampered(backup, tmp_path, "extra", lambda d: (d / "objects/999999.enc").write_bytes(b"x"))
        ) == ["objects/999999.enc：清单中没有此文件（多出的文件）"]

        def forge_counts(d: Path) -> None:
            document = json.loads((d / "manifest.json").read_bytes())
            document["counts"]["person"] += 1
            (d / "manifest.json").write_text(json.dumps(document))

        [why] = refused(tampered(backup, tmp_path, "manifest", forge_counts))
        assert why.startswith("manifest.json：签名无效")

        def resign_with_another_key(d: Path) -> None:  # a forger's key the restore does not trust
            document = json.loads((d / "manifest.json").read_bytes())
            forged = signing.Signer(ED25519.generate()).sign(document)
            (d / "manifest.json").write_text(json.dumps(forged))

        [why] = refused(tampered(backup, tmp_path, "resigned", resign_with_another_key))
        assert "不在受信任的公钥之列" in why
        assert refused(backup, trusted={}) == [
            "没有受信任的公钥，无法核验备份签名：用 --public-key 指定备份机构的签名公钥"
        ]
        with pytest.raises(BackupKeyProblem):
            restore(backup, deployment, master=bytes(32), trusted=trusted, actor=OPERATOR)
        assert list(store.list("")) == [] and database.holdings(target.url) == {}  # nothing written
        occupied = target_store(s3_server)
        occupied.put("cases/1/other", io.BytesIO(b"x"), 1, media_type="application/pdf")
        with pytest.raises(BackupRefused) as err:
            restore(
                backup,
                Deployment(target.url, occupied, deployment.data_dir),
                master=KEY,
                trusted=trusted,
                actor=OPERATOR,
            )
        assert err.value.problems == ["目标档案存储不是空的：只能恢复到空的部署"]

        restored = restore(backup, deployment, master=KEY, trusted=trusted, actor=OPERATOR)
        assert restored.ok, (restored.count_differences, restored.audit.as_dict(), restored.archive.findings)
        assert {t: restored.counts[t] for t in COUNTED} == before
        assert restored.audit.anchors == 1 and restored.audit.events == before["audit_event"]
        assert restored.archive.summary()["problems"] == {} and restored.archive.documents == 3
        assert restored.objects == 5 and restored.versions_changed == 5  # the new bucket's own version ids

        # Retention again under the server's object lock, until the same date.
        with target.sessions() as s:
            documents = list(s.scalars(select(Document)))
            package = s.scalars(select(ArchivePackage)).one()
            assert len(list(s.scalars(select(RestoredVersion)))) == 5
        sealed = next(d for d in documents if d.case_id == office.sealed_case)
        retention = store.client.get_object_retention(
            store.bucket, sealed.object_key, version_id=sealed.object_version
        )
        assert retention.mode == COMPLIANCE and retention.retain_until_date == sealed.retain_until
        assert store.retention(package.manifest_key, package.manifest_version) == package.retain_until

        # A restore into a deployment that is no longer empty is refused.
        assert "目标数据库不是空的" in refused(backup)[0]

        # The restored office goes on: the waiting case is approved and sealed from the restored objects.
        api = serve(target, deployment.data_dir, store, s3_server)
        api.complete("county1", office.waiting_case, APPROVE)
        assert worker.run_due(target.sessions) == 1
        case = api.get(f"/cases/{office.waiting_case}", "county1").json()
        assert (case["status"], case["outcome"]) == ("completed", "已入库")
        [document] = [d for d in documents if d.case_id == office.waiting_case and d.kind == "id_card_front"]
        assert api.get(f"/documents/{document.id}", "county1").content.startswith(b"\xff\xd8\xff")
        with target.sessions() as s:
            assert archive_verify.verify(s, store).ok


def test_under_the_national_profile_backups_are_sm3_sm2_sm4_and_restore(gm_pg_database, tmp_path, s3_server):
    gm_pg_database.reset()
    office = build_office(gm_pg_database, tmp_path / "office", s3_server)
    backup = tmp_path / "backup"
    created = create(office.deployment, backup, master=KEY, actor=OPERATOR)
    manifest = created.manifest
    assert manifest["crypto"] == {"profile": "gm", "hash": "sm3", "signature": "SM2", "cipher": "SM4-GCM"}
    assert manifest["signature"]["alg"] == "SM2"
    database_file = next(f for f in manifest["files"] if f["name"] == "database.enc")
    assert database_file["digest"] == hashlib.new("sm3", (backup / "database.enc").read_bytes()).hexdigest()

    # The sealed case's manifest in the archive lists each document's SM3 beside its SHA-256.
    store = office.api.app.state.archive
    with gm_pg_database.sessions() as s:
        package = s.scalars(select(ArchivePackage)).one()
        [sealed] = s.scalars(select(Document).where(Document.case_id == office.sealed_case)).all()
    sealed_manifest = json.loads(b"".join(store.open(package.manifest_key, package.manifest_version)))
    content = b"".join(store.open(sealed.object_key, sealed.object_version))
    assert sealed_manifest["documents"][0]["sm3"] == hashlib.new("sm3", content).hexdigest()

    trusted = signing.trusted_keys(office.api.settings.data_dir)
    target_bucket = target_store(s3_server)
    with new_pg_database(migrated=True) as target:  # installed with the default profile, still empty
        deployment = Deployment(target.url, target_bucket, tmp_path / "restored-data")
        broken = tampered(backup, tmp_path, "gm", lambda d: flip_byte(d / "objects.enc"))
        with pytest.raises(BackupRefused) as refused:
            restore(broken, deployment, master=KEY, trusted=trusted, actor=OPERATOR)
        assert refused.value.problems == ["objects.enc：内容被改动（SM3 与清单不符）"]
        restored = restore(backup, deployment, master=KEY, trusted=trusted, actor=OPERATOR)
        assert restored.ok, (restored.count_differences, restored.audit.as_dict(), restored.archive.findings)
        assert restored.audit.method == "postgresql" and restored.audit.anchors == 1
        with target.engine.connect() as conn:
            assert conn.execute(text("SELECT crypto FROM installation")).scalar() == "gm"


def test_a_drill_restores_into_a_scratch_deployment_and_leaves_nothing_behind(db, tmp_path, s3_server):
    office = build_office(db, tmp_path / "office", s3_server)

    def drill_buckets() -> set[str]:  # other test workers make buckets of their own meanwhile
        return {b.name for b in office.api.minio.list_buckets() if "-drill-" in b.name}

    result = drill(office.deployment, master=KEY, actor=OPERATOR)
    assert result.ok, result.line()
    line = result.line()
    assert line.startswith("容灾备份演练") and "：通过；" in line and "\n" not in line
    persons = result.created.manifest["counts"]["person"]
    assert f"人员 {persons}→{persons}" in line and "审计链完整" in line and "档案一致" in line
    assert drill_buckets() == set()  # the scratch bucket is gone
    with db.engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM pg_database WHERE datname LIKE '%\\_drill\\_%'")
        ).scalar()
        assert left == 0
    [recorded] = office.api.events("backup.drill")
    assert recorded.payload_json == {"ok": True, "record": line}


def test_the_commands_make_a_key_and_run_a_drill(sqlite_database, tmp_path, monkeypatch):
    sqlite_database.reset()
    office = build_office(sqlite_database, tmp_path / "office", None)  # the local archive directory
    monkeypatch.setenv("DATABASE_URL", sqlite_database.url)
    monkeypatch.setenv("CANBAO_DATA_DIR", str(office.api.settings.data_dir))
    monkeypatch.delenv("CANBAO_S3_ENDPOINT", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        key = tmp_path / "backup.key"
        assert runner.invoke(app, ["backup", "key", str(key)]).exit_code == 0
        assert key.stat().st_mode & 0o777 == 0o600
        assert runner.invoke(app, ["backup", "key", str(key)]).exit_code == 2  # never over a key
        done = runner.invoke(app, ["backup", "drill", "--key-file", str(key)])
        assert done.exit_code == 0, done.output
        assert done.output.startswith("容灾备份演练") and "通过" in done.output
        refused = runner.invoke(app, ["backup", "create", str(tmp_path / "b")])  # no key given
        assert refused.exit_code == 2 and "CANBAO_BACKUP_KEY" in refused.output
    finally:
        get_settings.cache_clear()
