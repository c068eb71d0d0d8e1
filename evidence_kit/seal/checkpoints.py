"""Reading capture checkpoints back: which tokens verify, which targets they cover, and when.

A checkpoint (evidence_kit/case/checkpoints.py) is an RFC 3161 token over a journal entry's
hash, journaled after that entry. Each one is checked here: the token parses, its imprint is
the hash it names, that hash is an entry of this chain written before the checkpoint, and,
given TSA roots, the token's signature, the TSA certificate's critical timeStamping usage and
its chain to a root hold *at the token's time* (rfc3161-client verifies at genTime, so a TSA
certificate that expired since still proves what it proved then).

Per target and run: which configured TSA covered its ``target_finished`` (a valid token over
an entry at or after it), the trusted bracket of its login (the latest valid token journaled
before its ``target_started``; the earliest valid token covering its end), and which TSAs left
it without a checkpoint (with the ``checkpoint_failed`` reason the capture journaled).
``verify`` and the report both read this; nothing here knows of either.
"""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from evidence_kit.case.checkpoints import CHECKPOINT, CHECKPOINT_FAILED
from evidence_kit.case.journal import read_entries
from evidence_kit.seal.model import Status, Verification
from evidence_kit.seal.timestamp import TimestampProblem, check_response


@dataclass(frozen=True)
class Token:
    """One journaled checkpoint token and what checking it found."""

    seq: int  # the checkpoint entry
    run: int
    tsa: str
    head: str
    head_seq: int | None  # the entry it stamps, when it is one of this chain's
    time: str | None  # the token's genTime (RFC 3339), when it parses
    problem: str | None  # why it does not count (None: it does)
    trusted: bool  # signature and chain to a given root verified at its time

    @property
    def valid(self) -> bool:
        return self.problem is None


@dataclass
class TargetTime:
    """One target's login in one run, and its trusted time."""

    target: str
    run: int
    started_seq: int
    finished_seq: int
    started: str  # the capture host's clock
    finished: str
    not_before: str | None = None  # trusted: the login began after this
    not_after: str | None = None  # trusted: the login had ended by this
    covered_by: dict[str, str] = field(default_factory=dict)  # tsa -> token time
    missing: dict[str, str] = field(default_factory=dict)  # tsa -> why there is no checkpoint

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CheckpointAnalysis:
    tokens: list[Token] = field(default_factory=list)
    targets: list[TargetTime] = field(default_factory=list)
    roots_given: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.tokens) or any(t.missing for t in self.targets)

    def bracket(self, target: str, run: int | None = None) -> TargetTime | None:
        """The target's entry for ``run`` (default: its latest run)."""
        found = [t for t in self.targets if t.target == target and (run is None or t.run == run)]
        return found[-1] if found else None


def _parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)


def _rfc3339(text: str | None) -> str | None:
    moment = _parse_time(text)
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _check_token(entry: dict[str, Any], hashes: dict[str, int], roots: list[x509.Certificate]) -> Token:
    data = entry.get("data") or {}
    head = str(data.get("head", ""))
    head_seq = hashes.get(head)

    def token(when: str | None, problem: str | None, trusted: bool = False) -> Token:
        return Token(int(entry["seq"]), int(entry.get("run") or 0), str(data.get("tsa", "")), head, head_seq,
                     when, problem, trusted)

    try:
        der = base64.b64decode(str(data.get("token", "")), validate=True)
        digest = bytes.fromhex(head)
    except ValueError:
        return token(None, "token or head is not valid base64 / hex")
    try:
        info = check_response(der, b"", digest=digest)
    except TimestampProblem as exc:
        return token(None, str(exc))
    when = _rfc3339(info.gen_time)
    if head_seq is None:
        return token(when, "stamps a hash that is no entry before it in this journal")
    if not roots:
        return token(when, None)
    try:
        return token(when, None, check_response(der, b"", roots=roots, digest=digest).verified)
    except TimestampProblem as exc:
        return token(when, f"TSA trust: {exc}")


def analyse(journal: Path, roots: list[x509.Certificate] | None = None) -> CheckpointAnalysis:
    """Check every checkpoint of ``journal`` (whose chain the caller has checked) and place each
    target's login between them."""
    roots = list(roots or [])
    result = CheckpointAnalysis(roots_given=bool(roots))
    hashes: dict[str, int] = {}
    started: dict[tuple[int, str], dict[str, Any]] = {}
    finished: list[tuple[dict[str, Any], dict[str, Any]]] = []
    failures: list[dict[str, Any]] = []
    tsas_by_run: dict[int, list[str]] = {}
    for entry in read_entries(journal):
        event, run = entry.get("event"), int(entry.get("run") or 0)
        if event == CHECKPOINT:
            result.tokens.append(_check_token(entry, hashes, roots))
        if event in (CHECKPOINT, CHECKPOINT_FAILED):
            tsa = str((entry.get("data") or {}).get("tsa", ""))
            if tsa not in tsas_by_run.setdefault(run, []):
                tsas_by_run[run].append(tsa)
            if event == CHECKPOINT_FAILED:
                failures.append(entry)
        elif event == "target_started" and entry.get("target"):
            started[(run, str(entry["target"]))] = entry
        elif event == "target_finished" and entry.get("target"):
            begin = started.get((run, str(entry["target"])))
            if begin is not None:
                finished.append((begin, entry))
        hashes[str(entry["hash"])] = int(entry["seq"])
    valid = [t for t in result.tokens if t.valid]
    for begin, end in finished:
        run, name = int(end["run"]), str(end["target"])
        item = TargetTime(name, run, int(begin["seq"]), int(end["seq"]), str(begin.get("time", "")),
                          str(end.get("time", "")))
        before = [t for t in valid if t.seq < item.started_seq and t.time]
        if before:
            item.not_before = max(before, key=lambda t: _parse_time(t.time) or _dt.datetime.min).time
        for tsa in tsas_by_run.get(run, []):
            covering = [t for t in valid if t.tsa == tsa and t.head_seq is not None and t.head_seq >= item.finished_seq]
            if covering:
                item.covered_by[tsa] = str(min(covering, key=lambda t: t.seq).time)
            else:
                item.missing[tsa] = _why_missing(tsa, name, run, failures, result.tokens)
        if item.covered_by:
            item.not_after = min(item.covered_by.values(), key=lambda v: _parse_time(v) or _dt.datetime.max)
        result.targets.append(item)
    return result


def _why_missing(tsa: str, target: str, run: int, failures: list[dict[str, Any]], tokens: list[Token]) -> str:
    for entry in reversed(failures):
        data = entry.get("data") or {}
        if data.get("tsa") == tsa and int(entry.get("run") or 0) == run and target in (data.get("covers") or []):
            return f"the TSA failed during capture: {data.get('problem')}"
    bad = [t for t in tokens if t.tsa == tsa and t.run == run and not t.valid]
    if bad:
        return f"its checkpoint does not verify: {bad[-1].problem}"
    return "no checkpoint after it (the run stopped before the TSA answered)"


def add_checks(report: Verification, analysis: CheckpointAnalysis) -> None:
    """The verify lines: ``checkpoints`` (tokens), ``checkpoints trust`` and ``checkpoint coverage``."""
    if not analysis.configured:
        report.add("checkpoints", Status.NOT_CHECKED, "captured without checkpoints (no TSA at capture): each "
                   "login's time is the capture host's clock until the seal's time-stamp")
        return
    bad = [t for t in analysis.tokens if not t.valid]
    good = [t for t in analysis.tokens if t.valid]
    tsas = sorted({t.tsa for t in analysis.tokens})
    if bad:
        first = bad[0]
        report.add("checkpoints", Status.FAILED, f"checkpoint at entry {first.seq} ({first.tsa}): {first.problem}"
                   + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""), failed=[t.seq for t in bad])
    else:
        report.add("checkpoints", Status.PASSED, f"{len(good)} checkpoint token(s) from {len(tsas)} TSA(s); each "
                   "time-stamps an entry of this journal's chain", tsas=tsas)
    if not analysis.roots_given:
        report.add("checkpoints trust", Status.NOT_CHECKED, "no --tsa-ca given: the checkpoint TSAs' signatures and "
                   "identities were not checked")
    elif good and all(t.trusted for t in good):
        report.add("checkpoints trust", Status.PASSED, "every checkpoint token's signature, timeStamping usage and "
                   "chain to --tsa-ca verify at the token's time")
    elif good:
        report.add("checkpoints trust", Status.FAILED, "some checkpoint tokens do not chain to --tsa-ca")
    considered = [t for t in analysis.targets if t.covered_by or t.missing]  # runs that had checkpoint TSAs
    lacking = [t for t in considered if t.missing]
    if not lacking:
        report.add("checkpoint coverage", Status.PASSED, f"all {len(considered)} target login(s) have a "
                   "checkpoint from every TSA configured at capture")
        return
    groups: dict[tuple[str, str], list[str]] = {}
    last_run = lacking[-1].run
    for t in lacking:
        for tsa, why in sorted(t.missing.items()):
            groups.setdefault((tsa, why), []).append(t.target if t.run == last_run else f"{t.target} (run {t.run})")
    parts = []
    for (tsa, why), names in groups.items():
        shown = ", ".join(sorted(names)[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        parts.append(f"from {tsa} ({why}): {shown}")
    report.add("checkpoint coverage", Status.NOT_CHECKED,
               f"{len(lacking)} of {len(considered)} target login(s) lack a checkpoint " + "; ".join(parts),
               lacking=[{"target": t.target, "run": t.run, "missing": t.missing} for t in lacking])
