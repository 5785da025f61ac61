"""Signatures on what the audit log hands out: case-history exports, archive anchors, backup manifests.

Ed25519 rather than an HMAC: checking a signature needs only the public key, so an auditor, a court
or the upper-level office can verify an export offline without holding anything that could forge one
(an HMAC key verifies and forges alike). The private key is generated on first use into
`<data_dir>/audit-keys/signing.pem` (mode 0600) and its public half written beside it as
`<key id>.pub.pem`; every `*.pub.pem` in that folder is trusted, so after a key rotation (move the old
`signing.pem` away, keep its `.pub.pem`) older exports and anchors still verify. Hand the `.pub.pem`
files to auditors out of band; a verifier that takes the public key from the file it checks would
prove nothing.

Under the national profile (`canbao.crypto`) the signatures are SM2 with SM3, from a key of its own
(`signing-sm2.pem`); a document names its algorithm (`signature.alg`) and is checked only against
trusted keys of that algorithm.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canbao.crypto.signatures import ED25519, SCHEMES, PublicKey, Scheme, load_public_pem


def key_dir(data_dir: Path) -> Path:
    return data_dir / "audit-keys"


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """What is signed: the document without its signature, as sorted, compact UTF-8 JSON."""
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Signer:
    private: Any
    scheme: Scheme = ED25519

    @property
    def key_id(self) -> str:
        return self.scheme.key_id(self.private.public_key())

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        """The document with a `signature` member over the rest of it."""
        value = self.scheme.sign(self.private, canonical_bytes(document))
        signature = {
            "alg": self.scheme.name,
            "key_id": self.key_id,
            "value": base64.b64encode(value).decode(),
        }
        return {**document, "signature": signature}


def signer(data_dir: Path, algorithm: str = ED25519.name) -> Signer:
    """The office's signing key for `algorithm` (Ed25519 or SM2), created on first use."""
    scheme = SCHEMES[algorithm]
    folder = key_dir(data_dir)
    path = folder / scheme.private_file
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        private = scheme.generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return signer(data_dir, algorithm)
        with os.fdopen(fd, "wb") as f:
            f.write(scheme.private_pem(private))
        public = private.public_key()
        (folder / f"{scheme.key_id(public)}.pub.pem").write_bytes(scheme.public_pem(public))
    try:
        return Signer(scheme.load_private(path.read_bytes()), scheme)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def load_public_keys(*paths: Path) -> dict[str, PublicKey]:
    """Trusted public keys (Ed25519 or SM2) by key id, from PEM files or folders of `*.pub.pem`."""
    keys: dict[str, PublicKey] = {}
    for path in paths:
        files = sorted(path.glob("*.pub.pem")) if path.is_dir() else [path]
        for file in files:
            try:
                public = load_public_pem(file.read_bytes())
            except ValueError as err:
                raise ValueError(f"{file} is not an Ed25519 or SM2 public key") from err
            keys[public.key_id] = public
    return keys


def trusted_keys(data_dir: Path) -> dict[str, PublicKey]:
    folder = key_dir(data_dir)
    return load_public_keys(folder) if folder.is_dir() else {}


def check(document: dict[str, Any], keys: dict[str, PublicKey]) -> str | None:
    """None when the document carries a valid signature by one of `keys`; otherwise why not (Chinese)."""
    signature = document.get("signature")
    alg = signature.get("alg") if isinstance(signature, dict) else None
    if alg not in SCHEMES:
        return "文件没有 Ed25519 或 SM2 签名"
    public = keys.get(str(signature.get("key_id")))
    if public is None:
        return f"签名密钥 {signature.get('key_id')} 不在受信任的公钥之列"
    if public.scheme.name != alg:
        return f"签名算法 {alg} 与受信任的密钥 {public.key_id}（{public.scheme.name}）不符"
    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
    except ValueError:
        value = b""
    if not public.verify(value, canonical_bytes(document)):
        return "签名无效：文件内容在签名后被修改，或签名不是用该密钥生成的"
    return None
