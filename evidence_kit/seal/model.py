"""The one archive model that seal writes and verify reads.

An archive is an age file; inside, one tar stream holding one BagIt bag in a folder named
after the case id::

    <case_id>/bagit.txt
    <case_id>/bag-info.txt
    <case_id>/manifest-sha256.txt, manifest-sha512.txt
    <case_id>/commitments.json                  credential commitments (tag file, signed)
    <case_id>/tagmanifest-sha256.txt, tagmanifest-sha512.txt
    <case_id>/tagmanifest-sha256.txt.sig        raw 64-byte Ed25519 signature   } beside the
    <case_id>/tagmanifest-sha256.txt.sig.tsr    RFC 3161 response (first TSA)   } tag manifest,
    <case_id>/tagmanifest-sha256.txt.sig.N.tsr  further TSAs (N = 2, 3, ...)    } not listed in
    <case_id>/signer-public.pem                 SubjectPublicKeyInfo PEM        } it
    <case_id>/data/...                          the case folder, unchanged
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFESTS = ("manifest-sha256.txt", "manifest-sha512.txt")
TAGMANIFESTS = ("tagmanifest-sha256.txt", "tagmanifest-sha512.txt")
ALGORITHMS = ("sha256", "sha512")
COMMITMENTS = "commitments.json"
SIGNED_FILE = "tagmanifest-sha256.txt"
SIGNATURE = "tagmanifest-sha256.txt.sig"
SIGNER_PEM = "signer-public.pem"
TSR_FIRST = "tagmanifest-sha256.txt.sig.tsr"
TSR_PATTERN = re.compile(r"^tagmanifest-sha256\.txt\.sig(?:\.([2-9]|[1-9][0-9]+))?\.tsr$")
RECEIPT_SUFFIX = ".receipt.json"
RECEIPT_FORMAT = "evidence-kit-receipt/1"
DATA_DIR = "data"

# bag-info.txt fields of our own (RFC 8493 allows any label).
INFO_CASE_ID = "Evidence-Kit-Case-Id"
INFO_JOURNAL_HEAD = "Evidence-Kit-Journal-Head"
INFO_JOURNAL_ENTRIES = "Evidence-Kit-Journal-Entries"
INFO_TOOL_VERSION = "Evidence-Kit-Version"
INFO_TIMESTAMPED = "Evidence-Kit-Trusted-Time"
INFO_SEALED = "Evidence-Kit-Sealed"  # the sealing host's UTC time, inside the signed bag


def receipt_path(archive: Path) -> Path:
    """Where an archive's receipt lives: beside it, named after it."""
    return archive.with_name(archive.name + RECEIPT_SUFFIX)


def tsr_name(index: int) -> str:
    """File name of the ``index``-th (1-based) time-stamp response."""
    return TSR_FIRST if index == 1 else f"tagmanifest-sha256.txt.sig.{index}.tsr"


def is_unsigned_tag_file(name: str) -> bool:
    """Files beside the tag manifest that the signature cannot cover (they are about it)."""
    return name in (SIGNATURE, SIGNER_PEM) or bool(TSR_PATTERN.match(name))


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not checked"


@dataclass
class Check:
    """One line of the verification table."""

    name: str
    status: Status
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status.value, "detail": self.detail, **(
            {"facts": self.facts} if self.facts else {})}


@dataclass
class Verification:
    """Every check verify ran, in order, plus what the reader should see first."""

    archive: str
    checks: list[Check] = field(default_factory=list)
    signer_fingerprint: str | None = None
    case_id: str | None = None
    extracted_to: str | None = None

    def add(self, name: str, status: Status, detail: str, **facts: Any) -> Check:
        check = Check(name, status, detail, facts)
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.status is not Status.FAILED for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAILED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "archive": self.archive,
            "ok": self.ok,
            "case_id": self.case_id,
            "signer_fingerprint": self.signer_fingerprint,
            "extracted_to": self.extracted_to,
            "checks": [c.as_dict() for c in self.checks],
        }


@dataclass
class SealResult:
    archive: str
    receipt: str
    case_id: str
    size: int
    sha256: str
    signer_fingerprint: str
    recipients: list[str]
    passphrase: bool
    timestamps: list[dict[str, Any]]
    files: int
    payload_bytes: int
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
