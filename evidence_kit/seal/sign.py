"""Ed25519 over the bag's ``tagmanifest-sha256.txt`` (raw 64-byte signature).

Checkable without us: ``openssl pkeyutl -verify -pubin -inkey signer-public.pem -rawin
-in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig``.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence_kit.errors import CheckProblem


class SignatureProblem(CheckProblem):
    """The signature or the signer's key is unusable or does not verify."""


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def load_signer(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except Exception as exc:
        raise SignatureProblem(f"signer-public.pem is not a readable public key ({type(exc).__name__})")
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureProblem(f"signer-public.pem holds a {type(key).__name__}, not an Ed25519 key")
    return key


def verify(public_key: Ed25519PublicKey, data: bytes, signature: bytes) -> None:
    if len(signature) != 64:
        raise SignatureProblem(f"signature is {len(signature)} bytes, not 64")
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise SignatureProblem("Ed25519 signature does not match the tag manifest")
