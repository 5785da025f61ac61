"""`manifest.json`: what a backup holds — every file with its size and digest, the profile, the key id,
the counts of every table in the snapshot — signed with the office's audit signing key (Ed25519, or
SM2 under the national profile).

A restore checks it before anything else: the signature against keys it trusts (never a key taken
from the backup itself), then every listed file's size and digest, then that no file is there that
the manifest does not list. Every problem is named; one is enough to refuse.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from canbao.audit import signing
from canbao.crypto import PROFILES, Profile, by_name

from .errors import BackupRefused
from .files import CHUNK, Entry

NAME = "manifest.json"
KIND = "canbao.backup"


def write(root: Path, document: dict[str, Any], *, data_dir: Path, profile: Profile) -> dict[str, Any]:
    """Sign and write the manifest, once every file it lists is on disk: a backup without its
    manifest is no backup, so a crash before this leaves nothing that a restore would accept."""
    signed = signing.signer(data_dir, profile.signature).sign(document)
    body = json.dumps(signed, ensure_ascii=False, sort_keys=True, indent=1).encode()
    os.sync()  # every file written so far, in one go rather than a sync per file
    with open(root / NAME, "xb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    directory = os.open(root, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return signed


def read(root: Path, *, trusted: dict[str, Any]) -> tuple[dict[str, Any], Profile]:
    """The manifest of the backup in `root`, after every check; BackupRefused naming each problem."""
    path = root / NAME
    if not root.is_dir():
        raise BackupRefused([f"{root} 不是目录"])
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise BackupRefused([f"缺少 {NAME}"]) from None
    except ValueError as err:
        raise BackupRefused([f"{NAME} 不是合法的 JSON：{err}"]) from None
    if not isinstance(document, dict) or document.get("type") != KIND:
        raise BackupRefused([f"{NAME} 不是 canbao 备份清单"])
    if not trusted:
        raise BackupRefused(["没有受信任的公钥，无法核验备份签名：用 --public-key 指定备份机构的签名公钥"])
    why = signing.check(document, trusted)
    if why is not None:
        raise BackupRefused([f"{NAME}：{why}"])
    name = (document.get("crypto") or {}).get("profile")
    if name not in PROFILES:
        raise BackupRefused([f"{NAME}：未知的密码配置 {name!r}"])
    profile = by_name(name)
    problems = check_files(root, [Entry(**e) for e in document.get("files", [])], profile)
    if problems:
        raise BackupRefused(problems)
    return document, profile


def check_files(root: Path, entries: list[Entry], profile: Profile) -> list[str]:
    problems = []
    listed = {e.name for e in entries}
    for entry in entries:
        path = root / entry.name
        if not path.is_file():
            problems.append(f"{entry.name}：缺失")
            continue
        size = path.stat().st_size
        if size != entry.size:
            problems.append(f"{entry.name}：大小 {size} 字节，清单记录 {entry.size} 字节")
            continue
        digest = profile.hasher()()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != entry.digest:
            problems.append(f"{entry.name}：内容被改动（{profile.hash.upper()} 与清单不符）")
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if name != NAME and name not in listed and not path.is_dir():
            problems.append(f"{name}：清单中没有此文件（多出的文件）")
    return problems
