"""Credential commitments: a salted, slow hash that lets the holder later prove which
credential was tested, without the evidence ever holding it.

commitment = scrypt(secret, salt = case_salt || "\\0" || target || "\\0" || field, n, r, p)

The per-case salt is random and recorded in case.json with the parameters; mixing in target
and field keeps two targets that share a password from sharing a commitment.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

# n=2**15, r=8: about 32 MiB and 0.1 s per commitment here; recorded per case so a later
# verifier uses exactly what was used.
DEFAULT_N = 2**15
DEFAULT_R = 8
DEFAULT_P = 1
DKLEN = 32


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
        return {"scheme": "scrypt", "salt": self.salt.hex(), "n": self.n, "r": self.r, "p": self.p,
                "dklen": self.dklen}


def _salt(params: CommitmentParams, target: str, field: str) -> bytes:
    return params.salt + b"\0" + target.encode() + b"\0" + field.encode()


def derive(params: CommitmentParams, secret: str, target: str, field: str) -> str:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=_salt(params, target, field), n=params.n, r=params.r, p=params.p,
        dklen=params.dklen, maxmem=256 * 1024 * 1024,
    ).hex()


def commit(params: CommitmentParams, secret: str, target: str, field: str) -> dict[str, Any]:
    return {"field": field, "scheme": "scrypt", "commitment": derive(params, secret, target, field)}


def matches(params: CommitmentParams, secret: str, target: str, field: str, commitment: str) -> bool:
    return hmac.compare_digest(derive(params, secret, target, field), commitment)
