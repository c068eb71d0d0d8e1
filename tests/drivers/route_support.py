"""Helpers for route tests: inventories whose secrets are env: references, and journal reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit.capture import CaptureResult, capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import SecretResolver

FAST = {"connect": 8, "banner": 15, "auth": 30, "command": 20}


class Secrets:
    """Test secrets as env: references; ``env`` goes into the environment before capture."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}

    def ref(self, value: str) -> str:
        name = f"EKT_ROUTE_{len(self.env)}"
        self.env[name] = value
        return f"env:{name}"

    def values(self) -> list[str]:
        return list(self.env.values())


def run_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets: Secrets, targets: list[dict[str, Any]],
                  concurrency: int = 4, **blocks: Any) -> CaptureResult:
    doc: dict[str, Any] = {"case": {"client": "Contoso Ltd", "provider": "Example MSP", "technician": "Test Runner"}}
    doc.update({k: v for k, v in blocks.items() if v})
    doc["targets"] = [{"timeouts": FAST, **t} for t in targets]
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    for key, value in secrets.env.items():
        monkeypatch.setenv(key, value)
    return capture(load_inventory(path, ProfileRegistry()), tmp_path / "case", SecretResolver(),
                   RunOptions(concurrency=concurrency))


def events(case: Path, target: str, name: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (case / "journal.jsonl").read_text().splitlines()]
    return [e for e in rows if e["target"] == target and (name is None or e["event"] == name)]


def outcomes(result: CaptureResult) -> dict[str, tuple[str, str]]:
    return {r.name: (r.outcome.value, r.detail) for r in result.results}
