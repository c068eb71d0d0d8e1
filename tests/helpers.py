"""Helpers shared by tests."""

from __future__ import annotations

import json
import secrets as _secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from evidence_kit.capture import CaptureResult
from evidence_kit.case.journal import read_entries
from evidence_kit.redact import scan_path


def assert_no_secrets(root: Path, secrets: Iterable[str]) -> None:
    """The evidence rule: no secret in any artifact, raw or base64/URL/hex/JSON encoded.

    Every test that logs in calls this over the whole case folder (zip members included).
    """
    values = [s for s in secrets if s]
    assert values, "scanner called without secrets: it would prove nothing"
    findings = scan_path(Path(root), values)
    assert not findings, "secret leaked: " + "; ".join(str(f) for f in findings)


def random_password(prefix: str = "Pw") -> str:
    # Mixed classes so URL/JSON encodings differ from the raw form and get exercised too.
    return f"{prefix}-{_secrets.token_urlsafe(12)}!%+/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class CaptureRun:
    """A capture the driver tests read back: results, each target's run folder, its events, and
    the JSON record / text transcript the driver wrote (their names per kind: RECORD, TRANSCRIPT)."""

    RECORD: ClassVar[str] = ""
    TRANSCRIPT: ClassVar[str] = ""

    report: CaptureResult
    root: Path
    secrets: list[str]

    def result(self, name: str) -> Any:
        return next(r for r in self.report.results if r.name == name)

    def folder(self, name: str) -> Path:
        return self.root / "artifacts" / name / "run001"

    def record(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.folder(name) / self.RECORD).read_text())
        return data

    def transcript(self, name: str) -> str:
        return (self.folder(name) / self.TRANSCRIPT).read_text()

    def events(self, name: str, event: str) -> list[dict[str, Any]]:
        return [e for e in read_entries(self.root / "journal.jsonl") if e["target"] == name and e["event"] == event]
