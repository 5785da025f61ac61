"""Signature keys of the two profiles, behind one small interface: Ed25519 (`cryptography`) and SM2
with SM3 and the default distinguishing identifier 1234567812345678 of GM/T 0009 (`tongsuopy`).

Keys are kept as standard PEM (PKCS #8 private, SubjectPublicKeyInfo public), so an auditor can check
an SM2 signature with OpenSSL 3 or GmSSL as well:
`openssl pkeyutl -verify -pubin -inkey K.pub.pem -rawin -digest sm3 -pkeyopt distid:1234567812345678`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tongsuopy.crypto import hashes as gm_hashes
from tongsuopy.crypto import serialization as gm_serialization
from tongsuopy.crypto.asymciphers import ec as gm_ec
from tongsuopy.crypto.exceptions import InvalidSignature as GmInvalidSignature


@dataclass(frozen=True)
class Scheme:
    """One signature algorithm: how its keys are made, stored, named, and how it signs and verifies."""

    name: str
    private_file: str  # the private key's file name in the key folder

    def generate(self) -> Any:
        if self.name == "Ed25519":
            return Ed25519PrivateKey.generate()
        return gm_ec.generate_private_key(gm_ec.SM2())

    def private_pem(self, private: Any) -> bytes:
        module = serialization if self.name == "Ed25519" else gm_serialization
        return private.private_bytes(module.Encoding.PEM, module.PrivateFormat.PKCS8, module.NoEncryption())

    def load_private(self, pem: bytes) -> Any:
        if self.name == "Ed25519":
            private = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError("not an Ed25519 private key")
            return private
        private = gm_serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, gm_ec.EllipticCurvePrivateKey) or private.curve.name != "SM2":
            raise ValueError("not an SM2 private key")
        return private

    def public_pem(self, public: Any) -> bytes:
        module = serialization if self.name == "Ed25519" else gm_serialization
        return public.public_bytes(module.Encoding.PEM, module.PublicFormat.SubjectPublicKeyInfo)

    def key_id(self, public: Any) -> str:
        """16 hex digits naming a public key: its raw bytes hashed (SHA-256 for Ed25519, SM3 for SM2)."""
        if self.name == "Ed25519":
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return hashlib.sha256(raw).hexdigest()[:16]
        raw = public.public_bytes(
            gm_serialization.Encoding.X962, gm_serialization.PublicFormat.UncompressedPoint
        )
        return hashlib.new("sm3", raw).hexdigest()[:16]

    def sign(self, private: Any, data: bytes) -> bytes:
        if self.name == "Ed25519":
            return private.sign(data)
        return private.sign(data, gm_ec.ECDSA(gm_hashes.SM3()))  # Tongsuo signs SM2 with Z(ID) over SM3

    def verify(self, public: Any, signature: bytes, data: bytes) -> bool:
        try:
            if self.name == "Ed25519":
                public.verify(signature, data)
            else:
                public.verify(signature, data, gm_ec.ECDSA(gm_hashes.SM3()))
        except (InvalidSignature, GmInvalidSignature, ValueError):
            return False
        return True


ED25519 = Scheme("Ed25519", "signing.pem")
SM2 = Scheme("SM2", "signing-sm2.pem")
SCHEMES = {s.name: s for s in (ED25519, SM2)}


@dataclass(frozen=True)
class PublicKey:
    scheme: Scheme
    key: Any

    @property
    def key_id(self) -> str:
        return self.scheme.key_id(self.key)

    def verify(self, signature: bytes, data: bytes) -> bool:
        return self.scheme.verify(self.key, signature, data)


def load_public_pem(pem: bytes) -> PublicKey:
    """An Ed25519 or SM2 public key from PEM; ValueError for anything else."""
    try:
        public = serialization.load_pem_public_key(pem)
    except UnsupportedAlgorithm:  # cryptography knows no SM2 curve
        public = None
    if isinstance(public, Ed25519PublicKey):
        return PublicKey(ED25519, public)
    if public is None:
        gm_public = gm_serialization.load_pem_public_key(pem)
        if isinstance(gm_public, gm_ec.EllipticCurvePublicKey) and gm_public.curve.name == "SM2":
            return PublicKey(SM2, gm_public)
    raise ValueError("not an Ed25519 or SM2 public key")
