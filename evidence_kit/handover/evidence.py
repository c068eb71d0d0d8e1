"""What the evidence says was tested: per target, its latest capture and the commitments made then.

Both sides of "delivered equals tested" read the journal the same way, through this module:
``handover`` reads the live case's journal before packaging a credential, and ``verify
--against-package`` reads the journal sealed inside the archive. A target may have been
captured in several runs (``capture --only`` appends runs); the credential that counts is the
one of its latest run, whose ``target_finished`` outcome is "the outcome at handover".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.case.commitments import CommitmentParams
from evidence_kit.case.journal import JOURNAL_NAME, check_journal, read_entries
from evidence_kit.errors import CaseError


@dataclass
class TestedTarget:
    """One target's latest capture, as journaled."""

    name: str
    run: int
    kind: str = ""
    profile: str = ""
    address: str = ""
    started: str = ""
    outcome: str | None = None  # None: the run stopped before the target finished
    finished: str | None = None
    detail: str = ""
    commitments: dict[str, str] = field(default_factory=dict)  # field -> hex commitment

    @property
    def tested_at(self) -> str:
        return self.finished or self.started

    def describe_outcome(self) -> str:
        return self.outcome or "not finished"


@dataclass
class Evidence:
    """The case's facts that a handover and its check need."""

    case_id: str
    info: dict[str, Any]
    journal_head: str
    journal_entries: int
    targets: dict[str, TestedTarget]
    inventory_name: str | None  # the last run_started's inventory file name and hash
    inventory_sha256: str | None

    @property
    def params(self) -> CommitmentParams:
        return CommitmentParams.from_case(self.info)


def read_evidence(case_dir: Path, info: dict[str, Any] | None = None) -> Evidence:
    """Read ``case_dir`` (a live case folder, or the ``data/`` folder of an extracted bag)."""
    case_dir = Path(case_dir)
    if info is None:
        try:
            info = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CaseError(f"{case_dir / 'case.json'}: unreadable ({exc.__class__.__name__})")
    assert info is not None
    journal = case_dir / JOURNAL_NAME
    check = check_journal(journal)
    if not check.ok:
        raise CaseError(f"{journal}: journal chain broken at {check.describe()}")
    targets: dict[str, TestedTarget] = {}
    inventory_name: str | None = None
    inventory_sha: str | None = None
    for entry in read_entries(journal):
        event, name, data = entry.get("event"), entry.get("target"), entry.get("data") or {}
        run = int(entry.get("run") or 0)
        if event == "run_started":
            inventory_name = data.get("inventory") or inventory_name
            inventory_sha = data.get("inventory_sha256") or inventory_sha
        if not isinstance(name, str):
            continue
        if event == "target_started":
            targets[name] = TestedTarget(name, run, str(data.get("kind", "")), str(data.get("profile", "")),
                                         str(data.get("address", "")), str(entry.get("time", "")))
            continue
        tested = targets.get(name)
        if tested is None or tested.run != run:
            continue
        if event == "credential_commitment" and data.get("field") and data.get("commitment"):
            tested.commitments[str(data["field"])] = str(data["commitment"])
        elif event == "target_finished":
            tested.outcome = str(data.get("outcome"))
            tested.finished = str(entry.get("time", ""))
            tested.detail = str(data.get("detail", ""))
    return Evidence(str(info.get("case_id")), info, check.head, check.entries, targets,
                    inventory_name, inventory_sha)
