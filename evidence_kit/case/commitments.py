"""Credential commitments: a salted, slow hash that lets the holder later prove which
credential was tested, without the evidence ever holding it.

    key        = scrypt(secret, salt = case_salt, n, r, p)                 (slow, once per secret)
    commitment = HMAC-SHA256(key, "evidence-kit commitment\\0" || target || "\\0" || field)

The per-case salt is random and recorded in case.json with the parameters. The slow step
depends only on the secret and the case, so a hundred targets sharing one password cost one
scrypt, not a hundred (it is cached per process); the HMAC over target and field keeps two
targets that share a password from sharing a commitment, so the archive does not reveal reuse.
Checking a candidate costs the same scrypt as making the commitment did.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

# n=2**15, r=8: about 32 MiB and 0.1 s per scrypt here; recorded per case so a later verifier
# uses exactly what was used.
DEFAULT_N = 2**15
DEFAULT_R = 8
DEFAULT_P = 1
DKLEN = 32
SCHEME = "scrypt+hmac-sha256"
_CONTEXT = b"evidence-kit commitment\0"

# At most one scrypt per core at a time: each takes 128 * r * n bytes (32 MiB here), and more
# in parallel than there are cores only adds memory, not speed.
_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
_cache: dict[tuple[bytes, int, int, int, bytes], bytes] = {}
_pending: dict[tuple[bytes, int, int, int, bytes], threading.Lock] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class CommitmentParams:
    salt: bytes
    n: int = DEFAULT_N
    r: int = DEFAULT_R
    p: int = DEFAULT_P
    dklen: int = DKLEN

    @classmethod
    def new(cls) -> CommitmentParams:
        return cls(salt=secrets.token_bytes(16))

    @classmethod
    def from_case(cls, info: dict[str, Any]) -> CommitmentParams:
        c = info.get("commitments") or {}
        return cls(bytes.fromhex(c["salt"]), int(c["n"]), int(c["r"]), int(c["p"]), int(c["dklen"]))

    def as_dict(self) -> dict[str, Any]:
        return {"scheme": SCHEME, "salt": self.salt.hex(), "n": self.n, "r": self.r, "p": self.p,
                "dklen": self.dklen}


def _slow_key(params: CommitmentParams, secret: str) -> bytes:
    # The cache key is a fast hash of the secret, never the secret itself.
    tag = hashlib.sha256(params.salt + b"\0" + secret.encode("utf-8")).digest()
    cache_key = (params.salt, params.n, params.r, params.p, tag)
    with _cache_lock:
        hit = _cache.get(cache_key)
        if hit is not None:
            return hit
        # Threads asking for the same secret at once wait for the first one's result.
        pending = _pending.setdefault(cache_key, threading.Lock())
    with pending:
        with _cache_lock:
            hit = _cache.get(cache_key)
        if hit is not None:
            return hit
        with _slots:
            key = hashlib.scrypt(
                secret.encode("utf-8"), salt=params.salt, n=params.n, r=params.r, p=params.p,
                dklen=params.dklen, maxmem=256 * 1024 * 1024,
            )
        with _cache_lock:
            _cache[cache_key] = key
            _pending.pop(cache_key, None)
    return key


def derive(params: CommitmentParams, secret: str, target: str, field: str) -> str:
    key = _slow_key(params, secret)
    message = _CONTEXT + target.encode("utf-8") + b"\0" + field.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def describe_derivation(scheme: str) -> str:
    """The recipe in words, written beside the commitments so anyone can check a candidate."""
    if scheme != SCHEME:
        return f"unknown scheme {scheme!r}"
    return ('key = scrypt(secret, salt, n, r, p, dklen); commitment = hex(HMAC-SHA256(key, '
            '"evidence-kit commitment" || 0x00 || target || 0x00 || field))')


def commit(params: CommitmentParams, secret: str, target: str, field: str) -> dict[str, Any]:
    return {"field": field, "scheme": SCHEME, "commitment": derive(params, secret, target, field)}


def matches(params: CommitmentParams, secret: str, target: str, field: str, commitment: str) -> bool:
    return hmac.compare_digest(derive(params, secret, target, field), commitment)
