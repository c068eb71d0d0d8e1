"""Capture then seal: what a scheduled run (cron, systemd timer, CI) does, in one call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.capture import CaptureResult, Progress, capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import Inventory
from evidence_kit.secrets import SecretResolver


@dataclass
class ScheduledRun:
    capture: CaptureResult
    seal: Any  # evidence_kit.seal.model.SealResult

    @property
    def ok(self) -> bool:
        """Every target ended login_ok (the seal itself raises when it fails)."""
        return self.capture.ok

    def as_dict(self) -> dict[str, Any]:
        data = self.capture.as_dict()
        data["seal"] = self.seal.as_dict()
        return data


def archive_name(case_id: str, run: int, when: str) -> str:
    """<case id>-run<NNN>-<UTC time>.age: sorts by time and never collides with an earlier seal."""
    stamp = when.replace("-", "").replace(":", "").split(".")[0]
    return f"{case_id}-run{run:03d}-{stamp}Z.age"


def capture_and_seal(
    inventory: Inventory,
    case_root: Path,
    resolver: SecretResolver,
    archive_dir: Path,
    sign_key: Path,
    recipients: list[str],
    passphrase: bytes | None = None,
    tsa_urls: list[str] | None = None,
    tsa_roots: list[Any] | None = None,
    options: RunOptions | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
) -> ScheduledRun:
    from evidence_kit.case.journal import utc_now
    from evidence_kit.seal.seal import SealOptions, seal

    report = capture(inventory, case_root, resolver, options, only, progress)
    archive_dir.mkdir(parents=True, exist_ok=True)
    output = archive_dir / archive_name(report.case_id, report.run, utc_now())
    sealed = seal(SealOptions(
        case_dir=Path(case_root), output=output, sign_key=sign_key, recipients=recipients,
        passphrase=passphrase, tsa_urls=list(tsa_urls or []), tsa_roots=list(tsa_roots or []),
    ))
    return ScheduledRun(report, sealed)
