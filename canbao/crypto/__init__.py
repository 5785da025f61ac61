"""The cryptography profile of an installation: which hash, signature and cipher canbao uses.

Two profiles exist. `standard` (the default) is SHA-256, Ed25519 and AES-256-GCM. `gm` is the
national commercial cryptography (商用密码) that GB/T 39786-2021 assesses government systems on:
SM3 (GB/T 32905) for integrity, SM2 (GB/T 32918) for signatures, SM4 (GB/T 32907) for
confidentiality. A deployment chooses once, when its database is installed (`CANBAO_CRYPTO=gm
canbao migrate`); the choice is recorded in the database (`installation`), so every later verify
knows which hash made the audit chains and which signature to expect.

SM3 and SM4 come from the machine's OpenSSL (Python's `hashlib`, `cryptography`); SM2 from
`tongsuopy` (Tongsuo, the OpenSSL fork of the OpenAtom foundation), since `cryptography` has no SM2.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ENV = "CANBAO_CRYPTO"


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    hash: str  # hashlib's name
    signature: str  # the `alg` of signed documents
    cipher: str
    key_bytes: int  # the cipher's key length

    def hasher(self) -> Callable[[bytes], hashlib._Hash]:
        """A constructor like hashlib.sha256 (the named constructor is the fastest one)."""
        return hashlib.sha256 if self.hash == "sha256" else _sm3

    def digest(self, data: bytes) -> str:
        return self.hasher()(data).hexdigest()

    def sql_digest(self, expression: str) -> str:
        """The hex digest of a bytea expression in PostgreSQL (SM3 through pgcrypto's digest())."""
        if self.hash == "sha256":
            return f"encode(sha256({expression}), 'hex')"
        return f"encode(digest({expression}, '{self.hash}'), 'hex')"

    def _kdf_hash(self) -> hashes.HashAlgorithm:
        return hashes.SHA256() if self.hash == "sha256" else hashes.SM3()

    def derive_key(self, master: bytes, purpose: str) -> bytes:
        """A key for this profile's cipher, derived from a master key for one purpose (HKDF)."""
        return HKDF(
            algorithm=self._kdf_hash(),
            length=self.key_bytes,
            salt=None,
            info=f"{purpose}/{self.cipher}".encode(),
        ).derive(master)

    def cipher_for(self, key: bytes, nonce: bytes, tag: bytes | None = None) -> Cipher:
        """The profile's AEAD cipher (GCM) for one message: encrypt without `tag`, decrypt with it."""
        algorithm = algorithms.AES(key) if self.cipher == "AES-256-GCM" else algorithms.SM4(key)
        return Cipher(algorithm, modes.GCM(nonce, tag))


def _sm3(data: bytes = b"") -> hashlib._Hash:
    return hashlib.new("sm3", data)


STANDARD = Profile(
    "standard", "通用算法（SHA-256、Ed25519、AES-256-GCM）", "sha256", "Ed25519", "AES-256-GCM", 32
)
GM = Profile("gm", "商用密码（SM3、SM2、SM4）", "sm3", "SM2", "SM4-GCM", 16)
PROFILES = {p.name: p for p in (STANDARD, GM)}


class UnknownProfile(ValueError):
    pass


def by_name(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(f"{ENV}={name!r}：只能是 {' 或 '.join(PROFILES)}") from None


def requested() -> Profile | None:
    """The profile CANBAO_CRYPTO asks for, or None when it is not set."""
    value = os.environ.get(ENV)
    return by_name(value.strip().lower()) if value and value.strip() else None


def by_hash(name: str) -> Profile:
    """The profile whose hash is `name` (files carry the hash they were made with)."""
    for profile in PROFILES.values():
        if profile.hash == name:
            return profile
    raise UnknownProfile(f"不支持的摘要算法 {name!r}")
