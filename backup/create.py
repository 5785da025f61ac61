"""`canbao backup create DIR`: one consistent, encrypted, signed backup of a running office."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from canbao import audit
from canbao.actors import Actor
from canbao.audit import signing
from canbao.crypto import Profile
from canbao.crypto.installation import read as read_installation
from canbao.db import make_engine, make_sessionmaker, transaction, utcnow

from . import database, keys, manifest, objects
from .deployment import Deployment
from .errors import BackupRefused
from .files import Writer

FORMAT_VERSION = 1


@dataclass
class Created:
    directory: Path
    manifest: dict[str, Any]
    seconds: float

    @property
    def bytes(self) -> int:
        return sum(f["size"] for f in self.manifest["files"])


def profile_of(url: str) -> Profile:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return read_installation(engine).profile
    finally:
        engine.dispose()


def create(source: Deployment, directory: Path, *, master: bytes, actor: Actor) -> Created:
    started = time.perf_counter()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupRefused([f"{directory} 已存在且不是空目录：备份只写入新的空目录"])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    profile = profile_of(source.url)
    signer = signing.signer(source.data_dir, profile.signature)  # its public key goes into keys/
    writer = Writer(directory, key=keys.cipher_key(master, profile), profile=profile)
    snapshot = database.dump(source.url, writer)
    copied = objects.back_up(source.store, snapshot.references, writer)
    for public in sorted(signing.key_dir(source.data_dir).glob("*.pub.pem")):
        writer.plain(f"keys/{public.name}", public.read_bytes())
    document = {
        "type": manifest.KIND,
        "version": FORMAT_VERSION,
        "created_at": utcnow().isoformat(),
        "crypto": {
            "profile": profile.name,
            "hash": profile.hash,
            "signature": profile.signature,
            "cipher": profile.cipher,
        },
        "key_id": keys.key_id(master, profile),
        "database": {
            "dialect": snapshot.dialect,
            "format": "sqlite" if snapshot.dialect == "sqlite" else "pg_dump custom",
            "revision": snapshot.revision,
        },
        "archive": {"store": source.store_kind, "objects": copied.objects, "bytes": copied.bytes},
        "counts": snapshot.counts,
        "files": [e.as_dict() for e in writer.entries],
    }
    signed = manifest.write(directory, document, data_dir=source.data_dir, profile=profile)
    created = Created(directory, signed, time.perf_counter() - started)
    engine = make_engine(source.url, poolclass=NullPool)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            audit.record(
                s,
                actor=actor,
                action="backup.create",
                object_type="backup",
                object_id=signed["created_at"],
                payload={
                    "directory": str(directory),
                    "bytes": created.bytes,
                    "objects": copied.objects,
                    "key_id": signed["key_id"],
                    "signed_by": signer.key_id,
                    "crypto": profile.name,
                    "events": snapshot.counts.get("audit_event", 0),
                },
                area="",
            )
    finally:
        engine.dispose()
    return created
