"""The files of a backup directory: each encrypted on its own with the profile's AEAD cipher
(AES-256-GCM, or SM4-GCM under the national profile), a fresh 96-bit nonce per file and the file's
name as associated data, so a file renamed or moved into another's place fails to decrypt.

Layout of an encrypted file: MAGIC, the nonce, the ciphertext, the 16-byte tag. Every file written is
hashed as stored (SHA-256 or SM3) for the manifest, so a restore checks every file before it
decrypts anything. Files are not synced one by one (a sync per object cost more than the copying);
`manifest.write` syncs them all to disk before the manifest that makes them a backup.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag

from canbao.crypto import Profile

from .errors import BackupRefused

MAGIC = b"CANBAO-BACKUP-1\n"
NONCE = 12
TAG = 16
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """One file as the manifest lists it."""

    name: str  # relative, with forward slashes
    size: int
    digest: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "digest": self.digest}


class Writer:
    """Writes the files of one backup into `root` and remembers their entries."""

    def __init__(self, root: Path, *, key: bytes, profile: Profile) -> None:
        self.root, self.key, self.profile = root, key, profile
        self.entries: list[Entry] = []

    def _open(self, name: str):
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "xb")

    def encrypted(self, name: str, chunks: Iterable[bytes]) -> Entry:
        nonce = os.urandom(NONCE)
        encryptor = self.profile.cipher_for(self.key, nonce).encryptor()
        encryptor.authenticate_additional_data(name.encode())
        digest, size = self.profile.hasher()(), 0
        with self._open(name) as out:

            def write(data: bytes) -> None:
                nonlocal size
                if data:
                    out.write(data)
                    digest.update(data)
                    size += len(data)

            write(MAGIC + nonce)
            for chunk in chunks:
                write(encryptor.update(chunk))
            write(encryptor.finalize())
            write(encryptor.tag)
        entry = Entry(name, size, digest.hexdigest())
        self.entries.append(entry)
        return entry

    def encrypted_json(self, name: str, document: Any) -> Entry:
        body = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        return self.encrypted(name, [body])

    def plain(self, name: str, content: bytes) -> Entry:
        with self._open(name) as out:
            out.write(content)
        entry = Entry(name, len(content), self.profile.digest(content))
        self.entries.append(entry)
        return entry


def file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def decrypt(path: Path, name: str, *, key: bytes, profile: Profile) -> bytes:
    """The whole plaintext of an encrypted file, authenticated before it is returned."""
    out = io.BytesIO()
    decrypt_to(path, name, out, key=key, profile=profile)
    return out.getvalue()


def decrypt_to(path: Path, name: str, out, *, key: bytes, profile: Profile) -> None:
    """Decrypt into `out`; BackupRefused (naming the file) when the tag does not match."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + NONCE)
        if size < len(MAGIC) + NONCE + TAG or not head.startswith(MAGIC):
            raise BackupRefused([f"{name}：不是 canbao 备份的加密文件"])
        f.seek(size - TAG)
        tag = f.read(TAG)
        f.seek(len(head))
        decryptor = profile.cipher_for(key, head[len(MAGIC) :], tag).decryptor()
        decryptor.authenticate_additional_data(name.encode())
        left = size - len(head) - TAG
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            left -= len(chunk)
            out.write(decryptor.update(chunk))
        try:
            out.write(decryptor.finalize())
        except InvalidTag:
            raise BackupRefused([f"{name}：解密校验失败（密钥不对或内容被改动）"]) from None
