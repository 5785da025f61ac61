"""Ed25519 signatures on what the audit log hands out: case-history exports and archive anchors.

Ed25519 rather than an HMAC: checking a signature needs only the public key, so an auditor, a court
or the upper-level office can verify an export offline without holding anything that could forge one
(an HMAC key verifies and forges alike). The private key is generated on first use into
`<data_dir>/audit-keys/signing.pem` (mode 0600) and its public half written beside it as
`<key id>.pub.pem`; every `*.pub.pem` in that folder is trusted, so after a key rotation (move the old
`signing.pem` away, keep its `.pub.pem`) older exports and anchors still verify. Hand the `.pub.pem`
files to auditors out of band; a verifier that takes the public key from the file it checks would
prove nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


def key_dir(data_dir: Path) -> Path:
    return data_dir / "audit-keys"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """What is signed: the document without its signature, as sorted, compact UTF-8 JSON."""
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.private.public_key())

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        """The document with a `signature` member over the rest of it."""
        value = self.private.sign(canonical_bytes(document))
        signature = {"alg": ALGORITHM, "key_id": self.key_id, "value": base64.b64encode(value).decode()}
        return {**document, "signature": signature}


def signer(data_dir: Path) -> Signer:
    """The office's signing key, created on first use."""
    folder = key_dir(data_dir)
    path = folder / "signing.pem"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return signer(data_dir)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public = private.public_key()
        (folder / f"{key_id(public)}.pub.pem").write_bytes(
            public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return Signer(private)


def load_public_keys(*paths: Path) -> dict[str, Ed25519PublicKey]:
    """Trusted public keys by key id, from PEM files or folders of `*.pub.pem`."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        files = sorted(path.glob("*.pub.pem")) if path.is_dir() else [path]
        for file in files:
            public = serialization.load_pem_public_key(file.read_bytes())
            if not isinstance(public, Ed25519PublicKey):
                raise ValueError(f"{file} is not an Ed25519 public key")
            keys[key_id(public)] = public
    return keys


def trusted_keys(data_dir: Path) -> dict[str, Ed25519PublicKey]:
    folder = key_dir(data_dir)
    return load_public_keys(folder) if folder.is_dir() else {}


def check(document: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> str | None:
    """None when the document carries a valid signature by one of `keys`; otherwise why not (Chinese)."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("alg") != ALGORITHM:
        return "文件没有 Ed25519 签名"
    public = keys.get(str(signature.get("key_id")))
    if public is None:
        return f"签名密钥 {signature.get('key_id')} 不在受信任的公钥之列"
    try:
        public.verify(base64.b64decode(str(signature.get("value")), validate=True), canonical_bytes(document))
    except (InvalidSignature, ValueError):
        return "签名无效：文件内容在签名后被修改，或签名不是用该密钥生成的"
    return None
