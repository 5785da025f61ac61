"""The archive half of a backup: every object version the database snapshot points at, with its media
type and its retention, copied out encrypted (`objects/NNNNNN.enc`, listed in the encrypted index
`objects.enc`, so that not even the object keys are readable without the key) and put back into the
target store, under retention again where the store has object lock.

Retention is what the store itself reports (S3 object lock), or else what canbao recorded: the
document's and the package's `retain_until`, an anchor's time plus its 100 years.

An S3 server gives every version it stores an id of its own: the restore returns the old → new
version of each object so the rows can be pointed at what it wrote.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from archive.store import ObjectStore
from canbao.crypto import Profile

from .database import Reference
from .files import Writer, decrypt

INDEX = "objects.enc"


@dataclass(frozen=True)
class Copied:
    objects: int
    bytes: int


def back_up(store: ObjectStore, references: list[Reference], writer: Writer) -> Copied:
    index: list[dict[str, Any]] = []
    total = 0
    seen: set[tuple[str, str | None]] = set()
    for ref in references:
        if (ref.key, ref.version) in seen:
            continue
        seen.add((ref.key, ref.version))
        name = f"objects/{len(index) + 1:06d}.enc"
        size = 0

        def chunks(ref: Reference = ref) -> Iterator[bytes]:
            nonlocal size
            for chunk in store.open(ref.key, ref.version):
                size += len(chunk)
                yield chunk

        writer.encrypted(name, chunks())
        retained = store.retention(ref.key, ref.version) or ref.retain_until
        index.append(
            {
                "file": name,
                "key": ref.key,
                "version": ref.version,
                "size": size,
                "media_type": ref.media_type,
                "retain_until": retained.isoformat() if retained else None,
            }
        )
        total += size
    writer.encrypted_json(INDEX, index)
    return Copied(len(index), total)


def restore(
    root: Path, store: ObjectStore, *, key: bytes, profile: Profile
) -> dict[tuple[str, str | None], str | None]:
    """Put every object back in its order; returns (key, old version) → new version."""
    index = json.loads(decrypt(root / INDEX, INDEX, key=key, profile=profile))
    versions: dict[tuple[str, str | None], str | None] = {}
    for item in index:
        body = decrypt(root / item["file"], item["file"], key=key, profile=profile)
        until = datetime.fromisoformat(item["retain_until"]) if item["retain_until"] else None
        versions[(item["key"], item["version"])] = store.put(
            item["key"], io.BytesIO(body), len(body), media_type=item["media_type"], retain_until=until
        )
    return versions


def is_empty(store: ObjectStore) -> bool:
    return next(iter(store.list("")), None) is None
