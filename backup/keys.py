"""The backup key: 32 random bytes, given by file (`--key-file`) or by CANBAO_BACKUP_KEY, as base64 or
hex text (or the raw bytes in a file). It is never written into a backup: the cipher key of each
backup is derived from it for the profile (`Profile.derive_key`), and the manifest carries only a
key id (an HMAC of a fixed text), so a restore with the wrong key is refused by name before any
decryption is tried.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from pathlib import Path

from canbao.crypto import Profile

from .errors import BackupKeyProblem

ENV = "CANBAO_BACKUP_KEY"
KEY_BYTES = 32
PURPOSE = "canbao-backup/1"


def parse(text: bytes) -> bytes:
    if len(text) == KEY_BYTES:
        return text
    stripped = text.strip()
    for decode in (bytes.fromhex, base64.b64decode):
        try:
            key = decode(stripped.decode("ascii"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise BackupKeyProblem(f"备份密钥必须是 {KEY_BYTES} 字节（base64 或十六进制文本）")


def load(key_file: Path | None = None) -> bytes:
    """The key from `key_file`, else from CANBAO_BACKUP_KEY."""
    if key_file is not None:
        try:
            return parse(key_file.read_bytes())
        except OSError as err:
            raise BackupKeyProblem(f"无法读取备份密钥文件 {key_file}：{err.strerror}") from err
    value = os.environ.get(ENV)
    if not value:
        raise BackupKeyProblem(f"没有备份密钥：用 --key-file 指定密钥文件，或设置环境变量 {ENV}")
    return parse(value.encode())


def generate(path: Path) -> None:
    """A new key, base64, in a file only its owner can read; never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")


def key_id(master: bytes, profile: Profile) -> str:
    return hmac.new(master, f"{PURPOSE} key id".encode(), profile.hash).hexdigest()[:16]


def cipher_key(master: bytes, profile: Profile) -> bytes:
    return profile.derive_key(master, PURPOSE)
