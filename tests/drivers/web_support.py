"""Helpers for the web driver tests: write an inventory, run capture, read the journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from evidence_kit.capture import CaptureResult, capture
from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import SecretResolver


def run_web(
    tmp_path: Path,
    targets: list[dict[str, Any]],
    env: dict[str, str],
    options: RunOptions | None = None,
    profile_dirs: list[Path] | None = None,
    case_name: str = "case",
) -> CaptureResult:
    inv = tmp_path / f"{case_name}-inventory.yaml"
    inv.write_text(yaml.safe_dump({
        "case": {"client": "Contoso Ltd", "provider": "Example MSP", "technician": "J. Doe"},
        "targets": targets,
    }))
    registry = ProfileRegistry(extra_dirs=profile_dirs or [], use_env=False)
    inventory = load_inventory(inv, registry)
    return capture(inventory, tmp_path / case_name, SecretResolver(environ=env), options or RunOptions(concurrency=4))


def entries(case_root: Path, target: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
    assert check_journal(case_root / "journal.jsonl").ok
    out = []
    for e in read_entries(case_root / "journal.jsonl"):
        if (target is None or e["target"] == target) and (event is None or e["event"] == event):
            out.append(e)
    return out


def artifacts(case_root: Path, target: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in entries(case_root, target, "artifact_added") if e["data"]["kind"] == kind]


def result(report: CaptureResult, name: str) -> Any:
    return next(r for r in report.results if r.name == name)


def dump(case_root: Path, target: str) -> str:
    """The target's journal, for assertion messages."""
    return "\n".join(json.dumps({k: e[k] for k in ("event", "data")})[:400] for e in entries(case_root, target))
