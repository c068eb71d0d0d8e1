"""``history CASE_OR_ARCHIVE_DIR``: each target's outcome over time, the per-customer export.

From a case folder the journal is read directly (its chain checked first). From a history
folder of sealed runs, the chain of receipts is verified (:mod:`.chain_verify`) and the newest
archive is opened and verified like ``verify`` does; its journal holds every run up to it (the
journal only grows). Either way each run is matched with the archive that sealed it.

Three shapes of the same data: a table (targets down, runs across), ``--json`` (runs and, per
target, one point per run) and ``--csv`` (one row per target and run, the long form that
spreadsheets and BI tools take). Each point carries the change from the target's previous run,
named as alerts name them (evidence_kit/schedule/changes.py).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.case.journal import JOURNAL_NAME, check_journal, read_entries
from evidence_kit.errors import CaseError, UsageError
from evidence_kit.schedule.changes import TargetState, classify
from evidence_kit.schedule.record import RUN_SEALED
from evidence_kit.seal.model import RECEIPT_SUFFIX, Verification

SHORT = {"login_ok": "ok", "login_limited": "LIMITED", "mfa_required": "MFA", "auth_failed": "AUTH-FAIL",
         "host_key_mismatch": "KEY-MISMATCH", "certificate_mismatch": "CERT-MISMATCH", "unreachable": "UNREACHABLE",
         "timeout": "TIMEOUT", "error": "ERROR"}
CSV_FIELDS = ("case_id", "client", "run", "run_started", "target", "profile", "address", "outcome", "change",
              "detail", "finished", "host_key", "certificate", "archive")


@dataclass
class RunInfo:
    run: int
    started: str = ""
    finished: str = ""
    archive: str | None = None
    receipt_sha256: str | None = None
    position: int | None = None


@dataclass
class Point:
    run: int
    outcome: str
    change: str | None
    detail: str
    finished: str
    profile: str
    address: str
    host_key: str | None
    certificate: str | None


@dataclass
class HistoryView:
    case_id: str
    client: str
    source: str
    runs: list[RunInfo] = field(default_factory=list)
    targets: dict[str, list[Point]] = field(default_factory=dict)
    verification: Verification | None = None  # for an archive folder: the chain and the newest archive

    @property
    def ok(self) -> bool:
        return self.verification is None or self.verification.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id, "client": self.client, "source": self.source,
            "verified": None if self.verification is None else self.verification.ok,
            "verification": None if self.verification is None else self.verification.as_dict(),
            "runs": [asdict(r) for r in self.runs],
            "targets": {name: [asdict(p) for p in points] for name, points in sorted(self.targets.items())},
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        runs = {r.run: r for r in self.runs}
        for name, points in sorted(self.targets.items()):
            for p in points:
                info = runs.get(p.run, RunInfo(p.run))
                writer.writerow({"case_id": self.case_id, "client": self.client, "run": p.run,
                                 "run_started": info.started, "target": name, "profile": p.profile,
                                 "address": p.address, "outcome": p.outcome, "change": p.change or "",
                                 "detail": _csv_safe(p.detail), "finished": p.finished, "host_key": p.host_key or "",
                                 "certificate": p.certificate or "", "archive": info.archive or ""})
        return out.getvalue()

    def table(self, last: int = 10) -> tuple[list[str], list[list[str]]]:
        """(header, rows): one row per target, one column per run (the last ``last`` runs)."""
        shown = self.runs[-last:] if last > 0 else self.runs
        header = ["target"] + [f"run {r.run} {r.started[5:10]}" for r in shown]
        rows = []
        for name, points in sorted(self.targets.items()):
            by_run = {p.run: p for p in points}
            rows.append([name] + [SHORT.get(by_run[r.run].outcome, by_run[r.run].outcome) if r.run in by_run else "-"
                                  for r in shown])
        return header, rows


def _csv_safe(text: str) -> str:
    """Device text as a spreadsheet cell: never a formula (CSV injection), one line."""
    one = " ".join(str(text).split())
    return "'" + one if one[:1] in ("=", "+", "-", "@") else one


def from_journal(journal: Path, case_id: str, client: str, source: str,
                 sealed: dict[int, RunInfo] | None = None) -> HistoryView:
    check = check_journal(journal)
    if not check.ok:
        raise CaseError(f"{journal}: journal chain broken at {check.describe()}; no history from a broken journal")
    view = HistoryView(case_id, client, source)
    runs: dict[int, RunInfo] = {}
    started: dict[tuple[int, str], dict[str, Any]] = {}
    last: dict[str, TargetState] = {}
    for entry in read_entries(journal):
        event, run, target = entry.get("event"), int(entry.get("run") or 0), entry.get("target")
        raw = entry.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if event == "run_started":
            runs[run] = RunInfo(run, started=str(entry.get("time", "")))
        elif event == "run_finished" and run in runs:
            runs[run].finished = str(entry.get("time", ""))
        elif event == RUN_SEALED and data.get("run") in runs:
            info = runs[int(data["run"])]
            info.archive, info.receipt_sha256, info.position = (data.get("archive"), data.get("receipt_sha256"),
                                                                data.get("position"))
        elif event == "target_started" and target:
            started[(run, target)] = data
        elif event == "target_finished" and target:
            begun = started.get((run, target), {})
            state = TargetState.from_entry(entry, str(begun.get("profile", "")), str(begun.get("address", "")))
            before = last.get(target)
            change = classify(before, state) if before is not None else None
            last[target] = state
            view.targets.setdefault(target, []).append(Point(
                run, state.outcome, change, state.detail, str(entry.get("time", "")), state.profile, state.address,
                state.host_key, state.certificate))
    for number, info in (sealed or {}).items():
        if number in runs and runs[number].archive is None:
            runs[number].archive, runs[number].receipt_sha256, runs[number].position = (
                info.archive, info.receipt_sha256, info.position)
    view.runs = [runs[r] for r in sorted(runs) if any(p.run == r for ps in view.targets.values() for p in ps)]
    return view


def from_case(case_root: Path) -> HistoryView:
    from evidence_kit.case.case import load_case_info

    info = load_case_info(Path(case_root))
    return from_journal(Path(case_root) / JOURNAL_NAME, str(info.get("case_id")), str(info.get("client", "")),
                        str(case_root))


def from_archive_dir(folder: Path, verify_options: Any) -> HistoryView:
    """Verify the history folder, open its newest archive, read the history from its journal.

    ``verify_options`` is a :class:`~evidence_kit.seal.verify.VerifyOptions` whose ``archive``
    is replaced by the newest archive of the chain.
    """
    from evidence_kit.schedule.chain import read_receipt
    from evidence_kit.schedule.chain_verify import verify_chain
    from evidence_kit.seal.verify import extract

    chain = verify_chain(Path(folder), trust_key=verify_options.trust_key)
    receipts = [(p, read_receipt(p)) for p in sorted(Path(folder).glob(f"*{RECEIPT_SUFFIX}"))]
    chained = [(p, b) for p, b in receipts if b and isinstance(b.get("chain"), dict)]
    newest_path, newest = max(chained, key=lambda pb: int(pb[1]["chain"].get("position") or 0))
    sealed = {int(b["chain"].get("run") or 0): RunInfo(int(b["chain"].get("run") or 0),
                                                      archive=str(b["archive"]["name"]),
                                                      position=int(b["chain"].get("position") or 0))
              for _, b in chained if b is not None}
    archive = Path(folder) / str(newest["archive"]["name"])
    if not archive.is_file():
        raise UsageError(f"{archive}: the newest run's archive is missing; see verify --chain {folder}")
    verify_options.archive = archive
    verify_options.receipt = newest_path
    tmp = Path(tempfile.mkdtemp(prefix="evidence-kit-history-"))
    try:
        report = extract(verify_options, tmp / "bag")
        if report.extracted_to is None:
            raise UsageError(f"{archive}: could not be opened to read its journal (see verify)")
        root = Path(report.extracted_to) / "data"
        info = json.loads((root / "case.json").read_text(encoding="utf-8"))
        view = from_journal(root / JOURNAL_NAME, str(info.get("case_id")), str(info.get("client", "")),
                            str(folder), sealed)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for check in report.checks:
        chain.add(f"{archive.name}: {check.name}", check.status, check.detail)
    view.verification = chain
    return view
