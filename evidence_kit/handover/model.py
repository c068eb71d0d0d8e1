"""The handover's typed data: who receives it, what is delivered, and what came out.

Every recipient is named (the client by the case's client name, everyone else by the NAME of
``--to NAME=RECIPIENT``) and carries a fingerprint a person can compare: for SSH keys the
``SHA256:`` form ``ssh-keygen -l`` prints; for an age X25519 recipient the ``age1...`` string
itself, which *is* the public key.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.handover.sshsig import fingerprint as ssh_fingerprint
from evidence_kit.secrets import Secret

CLIENT = "client"
AUTHORIZED = "authorized recipient"


@dataclass(frozen=True)
class NamedRecipient:
    name: str
    role: str  # CLIENT or AUTHORIZED
    recipient: str
    kind: str  # age-x25519, ssh-ed25519, ssh-rsa
    fingerprint: str

    @classmethod
    def of(cls, name: str, role: str, recipient: str) -> NamedRecipient:
        parts = recipient.split()
        if recipient.startswith("age1"):
            return cls(name, role, recipient, "age-x25519", recipient)
        kind = parts[0]
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (IndexError, ValueError):
            return cls(name, role, recipient, kind, "")
        return cls(name, role, " ".join(parts[:2]), kind, ssh_fingerprint(blob))

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "recipient": self.recipient, "kind": self.kind,
                "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class FieldCheck:
    """One secret field of a target: its commitment in the evidence, and whether today's value
    is the one tested (None: the evidence holds no commitment for it, or it is no longer given)."""

    field: str
    commitment: str | None
    matches: bool | None
    delivered: bool = True

    def problem(self) -> str | None:
        if not self.delivered:
            return f"{self.field}: tested, but the inventory no longer names it"
        if self.commitment is None:
            return f"{self.field}: never tested (no commitment in the case)"
        if not self.matches:
            return f"{self.field}: changed since it was tested (commitment differs)"
        return None


@dataclass
class Credential:
    """One target's credentials as resolved now, checked against what the evidence recorded."""

    target: str
    kind: str
    profile: str
    address: str
    username: str | None
    url: str | None
    secrets: dict[str, Secret] = field(repr=False)
    checks: list[FieldCheck]
    outcome: str | None = None
    tested_at: str | None = None
    run: int | None = None

    @property
    def matches(self) -> bool:
        return bool(self.checks) and all(c.problem() is None for c in self.checks)

    def problems(self) -> list[str]:
        if not self.checks:
            return ["no secret to deliver"]
        return [p for p in (c.problem() for c in self.checks) if p]

    def commitments(self) -> dict[str, str]:
        return {c.field: c.commitment for c in self.checks if c.commitment is not None and c.delivered}

    def as_dict(self) -> dict[str, Any]:
        """The public view (transmittal, journal, --json): never a secret value."""
        return {
            "target": self.target, "kind": self.kind, "profile": self.profile, "address": self.address,
            "username": self.username, "outcome": self.outcome, "tested_at": self.tested_at, "run": self.run,
            "delivered_equals_tested": self.matches, "problems": self.problems(),
            "fields": [{"field": c.field, "commitment": c.commitment, "matches_tested": c.matches,
                        "delivered": c.delivered} for c in self.checks],
        }


@dataclass(frozen=True)
class OutputFile:
    """A file of the handover folder, as the transmittal and the journal name it."""

    name: str
    role: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "sha256": self.sha256, "size": self.size}


@dataclass
class HandoverResult:
    output: Path
    case_id: str
    recipients: list[NamedRecipient]
    credentials: list[Credential]
    files: list[OutputFile]
    transmittal_id: str
    timestamps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mail: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Every delivered credential is the one tested (exit 1 when one was included anyway)."""
        return all(c.matches for c in self.credentials)

    def file(self, role: str) -> OutputFile:
        return next(f for f in self.files if f.role == role)

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output), "case_id": self.case_id, "transmittal_id": self.transmittal_id,
            "ok": self.ok, "recipients": [r.as_dict() for r in self.recipients],
            "credentials": [c.as_dict() for c in self.credentials], "files": [f.as_dict() for f in self.files],
            "timestamps": self.timestamps, "warnings": self.warnings, "mail": self.mail,
        }
