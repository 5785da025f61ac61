"""`canbao backup restore DIR`: check the backup whole, then bring it back into an empty deployment and
prove it with the deployment's own checks.

Order: the signature and every file (`manifest.read`), the key, that the target's database and store
are empty — all before anything is written. Then the database (one transaction), the archive
objects (under retention again), the rows pointed at the object versions the store gave them, the
public keys into the target's key folder; then the counts of every table against the manifest,
`canbao audit verify` (with the anchors) and `canbao archive verify`, each recorded in the restored
audit log like the commands themselves, and the restore itself as `backup.restore`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from archive import verify as archive_verify
from archive.models import ArchivePackage, Document, RestoredVersion
from canbao import audit
from canbao.actors import Actor
from canbao.audit import anchors, signing
from canbao.audit import verify as audit_verify
from canbao.audit.verifications import record as record_verification
from canbao.db import make_engine, make_sessionmaker, transaction

from . import database, keys, manifest, objects
from .deployment import Deployment
from .errors import BackupKeyProblem, BackupRefused
from .files import decrypt_to


@dataclass
class Restored:
    manifest: dict[str, Any]
    seconds: float
    counts: dict[str, int]  # every table, as restored (before the checks wrote their events)
    objects: int
    versions_changed: int
    audit: audit_verify.Report
    archive: archive_verify.Report

    @property
    def count_differences(self) -> dict[str, tuple[int, int | None]]:
        expected = self.manifest["counts"]
        return {t: (n, self.counts.get(t)) for t, n in expected.items() if self.counts.get(t) != n}

    @property
    def ok(self) -> bool:
        return not self.count_differences and self.audit.ok and self.archive.ok


def restore(directory: Path, target: Deployment, *, master: bytes, trusted: dict, actor: Actor) -> Restored:
    started = time.perf_counter()
    document, profile = manifest.read(directory, trusted=trusted)
    if document.get("key_id") != keys.key_id(master, profile):
        raise BackupKeyProblem(f"备份密钥与该备份不符（备份的密钥编号为 {document.get('key_id')}）")
    database.refuse_unless_empty(target.url)
    if not objects.is_empty(target.store):
        raise BackupRefused(["目标档案存储不是空的：只能恢复到空的部署"])
    key = keys.cipher_key(master, profile)

    with tempfile.TemporaryDirectory(prefix="canbao-restore-") as private:  # mode 0700
        dump = Path(private) / "database"
        with open(dump, "wb") as out:
            decrypt_to(directory / database.NAME, database.NAME, out, key=key, profile=profile)
        database.restore(dump, target.url)
    counts = database.counts(target.url)
    versions = objects.restore(directory, target.store, key=key, profile=profile)
    install_public_keys(directory, target.data_dir)

    engine = make_engine(target.url, poolclass=NullPool)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as s:
            changed = repoint(s, versions)
        found = anchors.read_all(target.store, data_dir=target.data_dir)
        with sessions() as s:
            audit_report = audit_verify.run(s, anchors=found)
        with transaction(sessions) as s:
            record_verification(s, actor, audit_report)
        with transaction(sessions) as s:
            archive_report = archive_verify.verify(s, target.store)
            audit.record(
                s,
                actor=actor,
                action="archive.verify",
                object_type="archive",
                object_id="all",
                payload=archive_report.summary(),
            )
        restored = Restored(document, 0.0, counts, len(versions), changed, audit_report, archive_report)
        with transaction(sessions) as s:
            audit.record(
                s,
                actor=actor,
                action="backup.restore",
                object_type="backup",
                object_id=document["created_at"],
                payload={
                    "directory": str(directory),
                    "ok": restored.ok,
                    "objects": restored.objects,
                    "versions_changed": changed,
                    "count_differences": {t: list(v) for t, v in restored.count_differences.items()},
                    "crypto": profile.name,
                },
                area="",
            )
    finally:
        engine.dispose()
    restored.seconds = time.perf_counter() - started
    return restored


def repoint(session: Session, versions: dict[tuple[str, str | None], str | None]) -> int:
    """Point the rows at the versions the restore wrote, and remember which sealed version each stands
    for (a version restored before keeps the one it stood for then)."""
    stood_for = {
        (r.object_key, r.version): r.original_version
        for r in session.execute(
            select(RestoredVersion.object_key, RestoredVersion.version, RestoredVersion.original_version)
        )
    }
    changed = 0
    for (key, old), new in versions.items():
        if new == old:
            continue
        changed += 1
        session.execute(
            update(Document)
            .where(Document.object_key == key, Document.object_version.is_not_distinct_from(old))
            .values(object_version=new)
        )
        session.execute(
            update(ArchivePackage)
            .where(
                ArchivePackage.manifest_key == key, ArchivePackage.manifest_version.is_not_distinct_from(old)
            )
            .values(manifest_version=new)
        )
        session.add(
            RestoredVersion(object_key=key, version=new, original_version=stood_for.get((key, old), old))
        )
    return changed


def install_public_keys(directory: Path, data_dir: Path) -> None:
    folder = signing.key_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for public in sorted((directory / "keys").glob("*.pub.pem")):
        if not (folder / public.name).exists():
            shutil.copyfile(public, folder / public.name)
