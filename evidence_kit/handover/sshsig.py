"""SSHSIG: OpenSSH's file signature format (``ssh-keygen -Y sign``), written and read in Python.

Why our own: a recipient must be able to acknowledge a transmittal with nothing but OpenSSH,
and we must be able to check what they made. The format is small and fully specified in
OpenSSH's ``PROTOCOL.sshsig``:

    signed data = "SSHSIG" || string(namespace) || string(reserved = "")
                  || string(hash algorithm) || string(H(message))
    blob        = "SSHSIG" || uint32(1) || string(public key) || string(namespace)
                  || string(reserved) || string(hash algorithm) || string(signature)
    armour      = "-----BEGIN SSH SIGNATURE-----", base64 of blob in 70-column lines,
                  "-----END SSH SIGNATURE-----"

``string`` is SSH's uint32 length + bytes; ``signature`` is an SSH signature (``string(algorithm)
|| string(bytes)``). Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic, so for the same
key, namespace and message this module writes the very bytes ``ssh-keygen -Y sign -n NAMESPACE``
writes (tests/handover/test_sshsig.py compares them). Keys: ``ssh-ed25519`` and ``ssh-rsa``
(signing with ``rsa-sha2-512``, as ssh-keygen does); hashes ``sha512`` (written) and ``sha256``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence_kit.errors import CheckProblem

MAGIC = b"SSHSIG"
VERSION = 1
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
LINE = 70
HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
RSA_ALGORITHMS = {"rsa-sha2-512": hashes.SHA512, "rsa-sha2-256": hashes.SHA256}


class SshSigProblem(CheckProblem):
    """An SSHSIG signature is malformed or does not verify."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SshSigProblem("signature blob is truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def string(self) -> bytes:
        return self.take(self.uint32())

    def done(self) -> None:
        if self.pos != len(self.data):
            raise SshSigProblem("trailing bytes after the signature blob")


def public_blob(key: Any) -> bytes:
    """The SSH wire form of a public key (what ``ssh-ed25519 AAAA...`` base64-encodes)."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def public_line(key: Any) -> str:
    """``ssh-ed25519 AAAA...`` for a public key (Ed25519 or RSA)."""
    return str(key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode())


def fingerprint(blob: bytes) -> str:
    """``SHA256:...`` exactly as ``ssh-keygen -l`` prints it (unpadded base64 of SHA-256)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _signed_data(namespace: str, hash_alg: str, message: bytes) -> bytes:
    digest = HASHES[hash_alg](message).digest()
    return MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode()) + _string(digest)


def sign(private_key: Any, message: bytes, namespace: str, hash_alg: str = "sha512") -> str:
    """The armoured SSHSIG signature of ``message`` (str, ending in a newline)."""
    if not namespace:
        raise SshSigProblem("the namespace must not be empty")
    data = _signed_data(namespace, hash_alg, message)
    if isinstance(private_key, Ed25519PrivateKey):
        signature = _string(b"ssh-ed25519") + _string(private_key.sign(data))
    elif isinstance(private_key, rsa.RSAPrivateKey):
        raw = private_key.sign(data, padding.PKCS1v15(), hashes.SHA512())
        signature = _string(b"rsa-sha2-512") + _string(raw)
    else:
        raise SshSigProblem(f"cannot sign with a {type(private_key).__name__} (ssh-ed25519 or ssh-rsa keys)")
    blob = (MAGIC + struct.pack(">I", VERSION) + _string(public_blob(private_key.public_key()))
            + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode()) + _string(signature))
    text = base64.b64encode(blob).decode()
    lines = [text[i:i + LINE] for i in range(0, len(text), LINE)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


@dataclass(frozen=True)
class SshSignature:
    """What a verified SSHSIG says: who signed (key, fingerprint), in which namespace."""

    public_key_blob: bytes
    key_type: str
    namespace: str
    hash_algorithm: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key_blob)

    @property
    def public_line(self) -> str:
        return f"{self.key_type} {base64.b64encode(self.public_key_blob).decode()}"


def is_armoured(data: bytes) -> bool:
    return data.lstrip().startswith(BEGIN.encode())


def _dearmour(armoured: bytes) -> bytes:
    text = armoured.decode("ascii", "replace").strip()
    if not text.startswith(BEGIN) or not text.endswith(END):
        raise SshSigProblem("not an armoured SSH signature (-----BEGIN SSH SIGNATURE-----)")
    body = "".join(text[len(BEGIN):-len(END)].split())
    try:
        return base64.b64decode(body, validate=True)
    except ValueError:
        raise SshSigProblem("the signature's base64 is damaged")


def _load_public(blob: bytes) -> tuple[str, Any]:
    reader = _Reader(blob)
    key_type = reader.string().decode("ascii", "replace")
    if key_type not in ("ssh-ed25519", "ssh-rsa"):
        raise SshSigProblem(f"unsupported key type {key_type!r} (ssh-ed25519 or ssh-rsa)")
    try:
        key = serialization.load_ssh_public_key(f"{key_type} {base64.b64encode(blob).decode()}".encode())
    except (ValueError, TypeError) as exc:
        raise SshSigProblem(f"the signer's public key is unreadable ({exc.__class__.__name__})")
    return key_type, key


def verify(armoured: bytes, message: bytes, namespace: str) -> SshSignature:
    """Check an armoured SSHSIG over ``message`` in ``namespace``; returns who signed.

    Like ``ssh-keygen -Y check-novalidate``: it proves the key in the signature signed the
    message; whether that key is the one you expect is for the caller (an allowed-signers file,
    a fingerprint given out of band) to decide.
    """
    reader = _Reader(_dearmour(armoured))
    if reader.take(6) != MAGIC:
        raise SshSigProblem("not an SSHSIG blob (no SSHSIG preamble)")
    version = reader.uint32()
    if version != VERSION:
        raise SshSigProblem(f"SSHSIG version {version} is not supported")
    pub_blob = reader.string()
    signed_ns = reader.string().decode("utf-8", "replace")
    reader.string()  # reserved
    hash_alg = reader.string().decode("ascii", "replace")
    signature = _Reader(reader.string())
    reader.done()
    if signed_ns != namespace:
        raise SshSigProblem(f"signed in namespace {signed_ns!r}, not {namespace!r}")
    if hash_alg not in HASHES:
        raise SshSigProblem(f"unsupported hash algorithm {hash_alg!r}")
    key_type, key = _load_public(pub_blob)
    sig_alg = signature.string().decode("ascii", "replace")
    raw = signature.string()
    signature.done()
    data = _signed_data(namespace, hash_alg, message)
    try:
        if isinstance(key, Ed25519PublicKey):
            if sig_alg != "ssh-ed25519":
                raise SshSigProblem(f"an ssh-ed25519 key with a {sig_alg!r} signature")
            key.verify(raw, data)
        else:
            if sig_alg not in RSA_ALGORITHMS:
                raise SshSigProblem(f"an ssh-rsa key with a {sig_alg!r} signature (rsa-sha2-256/512 only)")
            key.verify(raw, data, padding.PKCS1v15(), RSA_ALGORITHMS[sig_alg]())
    except InvalidSignature:
        raise SshSigProblem("the SSH signature does not match the message")
    return SshSignature(pub_blob, key_type, namespace, hash_alg)
