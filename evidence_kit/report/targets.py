"""The case journal, read entry by entry: every journaled file (Appendix A), each run's facts
(Appendix C), and per target its timeline, outcome, identity, credential commitments and
evidence (transcripts and certificates opened through :mod:`files`; screenshots collected here
and paired by :mod:`screenshot_views`).

A journal that failed verification may say anything: each entry is read on its own, and one
that cannot be read is named in the report's problems instead of stopping the report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.case.journal import JOURNAL_NAME, iter_entries
from evidence_kit.report import files
from evidence_kit.report.model import ArtifactRow, CommitmentRow, JournalRow, TargetView, TimelineRow
from evidence_kit.report.screenshot_views import Originals, Stamped
from evidence_kit.report.sentences import sentence
from evidence_kit.report.terminal import visible
from evidence_kit.report.wording import flatten, short

FAILURE_EVENTS = re.compile(r"(_failed|_dropped|_error|mismatch|timeout|refused|unsupported)$")
FAILED_RESULTS = ("mismatch", "timeout", "failed", "refused")
IDENTITY_SHORT = {"host_key": "host key", "tls_leaf_sha256": "cert sha256", "certificate_sha256": "cert sha256",
                  "server_ip": "server", "account": "account", "privilege": "privilege", "mode": "mode",
                  # how it was reached (evidence_kit/route/): the hops and proxy, and telnet in clear
                  "route_via": "via", "transport": "transport"}


@dataclass
class JournalReading:
    """What the journal holds, grouped the way the report shows it."""

    entries: int = 0
    head: str = ""
    times: list[str] = field(default_factory=list)
    runs: set[int] = field(default_factory=set)
    run_facts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # each run_started's data
    targets: dict[str, TargetView] = field(default_factory=dict)
    artifacts: list[ArtifactRow] = field(default_factory=list)
    rows: list[JournalRow] = field(default_factory=list)  # every entry that parsed, raw
    stamped: list[Stamped] = field(default_factory=list)
    originals: Originals = field(default_factory=dict)
    anchors: set[str] = field(default_factory=set)


def read_journal(payload: Path, problems: list[str]) -> JournalReading:
    """Read ``payload``'s journal; what cannot be read is appended to ``problems``."""
    entries = _parse(payload / JOURNAL_NAME, problems)
    reading = JournalReading(entries=len(entries), head=str(entries[-1].get("hash", "")) if entries else "",
                             times=[str(e.get("time")) for e in entries if e.get("time")])
    for number, entry in enumerate(entries, start=1):
        reading.rows.append(raw_row(number, entry))
        try:
            _read_entry(reading, number, entry, payload)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            problems.append(f"journal entry {number} could not be read ({type(exc).__name__}); it is not shown")
    for view in reading.targets.values():
        # An SSH session has both a cast and its text form: show the cast (it keeps what the
        # cursor did), and the text form only when no cast is there.
        if any(t.kind == "asciicast" for t in view.transcripts):
            view.transcripts = [t for t in view.transcripts if t.kind != "transcript"]
    return reading


def _parse(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    """Every entry that parses; the others are named (verification already judged the chain)."""
    entries: list[dict[str, Any]] = []
    try:
        for number, raw in iter_entries(path):
            if not raw.endswith(b"\n"):
                problems.append(f"journal line {number} is torn (no end of line); it is not shown")
                continue
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = None
            if isinstance(entry, dict):
                entries.append(entry)
            else:
                problems.append(f"journal line {number} is not a JSON object; it is not shown")
    except OSError as exc:
        problems.append(f"the journal could not be read ({exc.strerror or exc})")
    return entries


def anchor(name: str, used: set[str]) -> str:
    """A unique HTML id for a target's section."""
    base = "t-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "target")
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    used.add(candidate)
    return candidate


def raw_row(number: int, entry: dict[str, Any]) -> JournalRow:
    """The entry as recorded: its data and artifact fields flattened, each value visible text."""
    fields: list[tuple[str, str]] = []
    data = entry.get("data")
    if isinstance(data, dict):
        flatten("", data, fields)
    elif data not in (None, "", [], {}):
        fields.append(("data", short(data, 400)))
    if entry.get("artifact") not in (None, "", [], {}):
        flatten("artifact", entry.get("artifact"), fields)

    def text(key: str) -> str:
        value = entry.get(key)
        return "" if value is None else short(value, 200)

    return JournalRow(number, text("seq"), text("time"), text("run"), text("target"), text("event"), fields)


def _read_entry(reading: JournalReading, number: int, entry: dict[str, Any], payload: Path) -> None:
    name = entry.get("target")
    event = str(entry.get("event") or "")
    raw_data = entry.get("data")
    edata: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    when = str(entry.get("time") or "")
    seq = int(entry.get("seq") or 0)
    run = int(entry.get("run") or 0)
    reading.runs.add(run)
    art = entry.get("artifact") if isinstance(entry.get("artifact"), dict) else None
    artifact = None
    if art is not None:
        artifact = ArtifactRow(
            path=visible(str(art.get("path"))), target=visible(str(name)) if name else None,
            kind=visible(str(edata.get("kind") or event)), media_type=visible(str(edata.get("media_type") or "")),
            sha256=str(art.get("sha256")), size=int(art.get("size") or 0), seq=seq, time=when,
        )
        reading.artifacts.append(artifact)
    if event == "run_started":
        reading.run_facts.append((run, edata))
    if not name:
        return  # case-level entries: their artifacts are in reading.artifacts (Appendix A)
    view = _target(reading, str(name), edata, when)
    view.timeline.append(TimelineRow(
        seq, when, run, visible(event), sentence(event, raw_data), artifact.path if artifact else None,
        failure=bool(FAILURE_EVENTS.search(event)) or edata.get("result") in FAILED_RESULTS, number=number))
    if event == "target_started":
        view.kind = str(edata.get("kind") or view.kind)
        view.profile = visible(str(edata.get("profile") or view.profile))
        view.address = visible(str(edata.get("address") or view.address))
    elif event == "target_finished":
        view.outcome = visible(str(edata.get("outcome") or "error"))
        view.detail = visible(str(edata.get("detail") or ""))
        view.finished = when
        identity: list[tuple[str, str]] = []
        flatten("", edata.get("identity") or {}, identity)
        view.identity = identity
        view.identity_short = identity_short(edata.get("identity") or {})
    elif event == "credential_commitment":
        view.commitments.append(CommitmentRow(
            view.name, visible(str(edata.get("field"))), visible(str(edata.get("scheme"))),
            visible(str(edata.get("commitment"))), seq, when))
    if artifact is not None and art is not None:
        _evidence(reading, view, artifact, str(art.get("path")), edata, payload)


def _target(reading: JournalReading, name: str, edata: dict[str, Any], when: str) -> TargetView:
    view = reading.targets.get(name)
    if view is None:
        view = reading.targets[name] = TargetView(
            name=visible(name), anchor=anchor(name, reading.anchors), kind=str(edata.get("kind") or ""),
            profile=visible(str(edata.get("profile") or "")), address=visible(str(edata.get("address") or "")),
            outcome="no outcome recorded", detail="", started=when, finished="",
        )
    return view


def _evidence(reading: JournalReading, view: TargetView, artifact: ArtifactRow, rel: str, edata: dict[str, Any],
              payload: Path) -> None:
    """File one artifact of a target by kind: screenshots to pair later, text and chains now."""
    view.artifacts.append(artifact)
    path = files.inside(payload, rel)
    if path is None:
        view.problems.append(f"{artifact.path}: not in the case folder; not shown")
        return
    kind = artifact.kind
    if kind == "screenshot":
        reading.originals[artifact.path] = (artifact, edata)
    elif kind == "screenshot_stamped":
        reading.stamped.append((view, edata, artifact))
    elif kind == "asciicast":
        view.transcripts.append(files.cast_transcript(path, artifact))
    elif files.shown_as_text(artifact):
        view.transcripts.append(files.text_transcript(path, artifact))
    elif kind == "certificate_chain":
        view.certificates.extend(files.certificates(path, artifact.path))


def identity_short(identity: dict[str, Any]) -> str:
    """The identity facts a reviewer compares first, on one line, for the summary table."""
    parts = []
    for key, label in IDENTITY_SHORT.items():
        value = identity.get(key)
        if value not in (None, ""):
            if key == "server_ip" and identity.get("server_port"):
                value = f"{value}:{identity['server_port']}"
            parts.append(f"{label} {short(value, 80)}")
    return "; ".join(parts)
