"""What counts as a change worth an alert, per target, and what a channel was last told.

A target's *state* after a run is its outcome plus the far end's identity (SSH host key, TLS
or LDAP certificate), read from its ``target_finished`` entry. A change is a difference from
the state the channel was **last told about** (the ``alert`` entries each run journals after
its seal, evidence_kit/schedule/record.py); when it was told nothing yet about a target, the
reference is "working" (``login_ok``, the identity the previous run saw). So:

* with every message delivered, that is exactly "compared with the previous run";
* a channel that failed is told again at the next run while the change still stands (an alert
  is never lost to a mail server that was down), and not at all if it cleared meanwhile;
* the first run with alerts on reports every target that is not ``login_ok`` (a credential
  that never worked is not silent); a target that works says nothing.

Kinds: ``credential_failed`` (now ``auth_failed``), ``credential_recovered``,
``privilege_lowered`` (``login_ok`` -> ``login_limited``), ``privilege_restored``,
``unreachable`` (now ``unreachable`` or ``timeout``), ``reachable_again``,
``host_key_changed`` / ``certificate_changed`` (a pin or known_hosts mismatch, or a different
key or certificate than last time), ``identity_restored`` (the mismatch cleared), and
``outcome_changed`` for the rest (``mfa_required``, ``error``). Recoveries are the kinds that
end in a working login.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evidence_kit.case.journal import JOURNAL_NAME, read_entries
from evidence_kit.schedule.record import ALERT

WORKING = ("login_ok", "login_limited")
NO_ANSWER = ("unreachable", "timeout")
MISMATCH = ("host_key_mismatch", "certificate_mismatch")
RECOVERIES = ("credential_recovered", "privilege_restored", "reachable_again", "identity_restored")

WORDS = {
    "credential_failed": "credential stopped working",
    "credential_recovered": "credential works again",
    "privilege_lowered": "logged in, but without the expected privilege",
    "privilege_restored": "expected privilege is back",
    "unreachable": "newly unreachable",
    "reachable_again": "reachable again",
    "host_key_changed": "host key changed",
    "certificate_changed": "certificate changed",
    "identity_restored": "the expected host key / certificate is back",
    "outcome_changed": "outcome changed",
}


@dataclass(frozen=True)
class TargetState:
    outcome: str
    host_key: str | None = None
    certificate: str | None = None
    detail: str = ""
    address: str = ""
    profile: str = ""
    run: int = 0

    @classmethod
    def from_entry(cls, entry: dict[str, Any], profile: str = "", address: str = "") -> TargetState:
        data = entry.get("data") or {}
        identity = data.get("identity") or {}
        cert = identity.get("tls_leaf_sha256") or identity.get("certificate_sha256")
        return cls(str(data.get("outcome")), identity.get("host_key"), cert, str(data.get("detail") or ""),
                   address, profile, int(entry.get("run") or 0))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetState:
        return cls(**{k: data.get(k) for k in ("outcome", "host_key", "certificate")},  # type: ignore[arg-type]
                   detail=str(data.get("detail") or ""), address=str(data.get("address") or ""),
                   profile=str(data.get("profile") or ""), run=int(data.get("run") or 0))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Change:
    target: str
    kind: str
    before: str | None  # the outcome the channel was told (or the previous run's), None if never seen
    now: str
    detail: str
    address: str
    profile: str

    @property
    def recovery(self) -> bool:
        return self.kind in RECOVERIES

    @property
    def words(self) -> str:
        return WORDS[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recovery": self.recovery, "summary": self.words}


@dataclass
class History:
    """What the case journal says: each run's target states, and what each channel was told."""

    runs: dict[int, dict[str, TargetState]]
    told: dict[str, dict[str, TargetState]]  # channel -> target -> last state delivered

    def before(self, run: int) -> dict[str, TargetState]:
        """Each target's latest state in the runs before ``run``."""
        out: dict[str, TargetState] = {}
        for number in sorted(r for r in self.runs if r < run):
            out.update(self.runs[number])
        return out


def read_history(case_root: Path) -> History:
    """One pass over the journal (whose chain the caller has checked)."""
    runs: dict[int, dict[str, TargetState]] = {}
    told: dict[str, dict[str, TargetState]] = {}
    started: dict[tuple[int, str], dict[str, Any]] = {}
    for entry in read_entries(Path(case_root) / JOURNAL_NAME):
        event, target, run = entry.get("event"), entry.get("target"), int(entry.get("run") or 0)
        if event == "target_started" and target:
            started[(run, target)] = entry.get("data") or {}
        elif event == "target_finished" and target:
            begun = started.get((run, target), {})
            runs.setdefault(run, {})[target] = TargetState.from_entry(entry, str(begun.get("profile", "")),
                                                                     str(begun.get("address", "")))
        elif event == ALERT and isinstance(entry.get("data"), dict) and entry["data"].get("delivered"):
            data = entry["data"]
            for name, state in (data.get("states") or {}).items():
                told.setdefault(str(data.get("channel")), {})[name] = TargetState.from_dict(state)
    return History(runs, told)


def classify(reference: TargetState, now: TargetState) -> str | None:
    """The kind of change from ``reference`` to ``now``, or None when there is none to tell."""
    was, is_ = reference.outcome, now.outcome
    if was == is_:
        if is_ in WORKING and reference.host_key and now.host_key and reference.host_key != now.host_key:
            return "host_key_changed"
        if is_ in WORKING and reference.certificate and now.certificate and reference.certificate != now.certificate:
            return "certificate_changed"
        return None
    if is_ == "auth_failed":
        return "credential_failed"
    if is_ in NO_ANSWER:
        return None if was in NO_ANSWER else "unreachable"
    if is_ in MISMATCH:
        return "host_key_changed" if is_ == "host_key_mismatch" else "certificate_changed"
    if is_ in WORKING:
        if was == "auth_failed":
            return "credential_recovered"
        if was in NO_ANSWER:
            return "reachable_again"
        if was in MISMATCH:
            return "identity_restored"
        if was == "login_ok":
            return "privilege_lowered"
        if was == "login_limited":
            return "privilege_restored"
    return "outcome_changed"


def changes_for(channel: str, history: History, run: int, targets: Iterable[str] | None = None) -> list[Change]:
    """The changes to tell ``channel`` about after ``run`` (see the module docstring)."""
    now = history.runs.get(run, {})
    told = history.told.get(channel, {})
    previous = history.before(run)
    out = []
    for name in sorted(now if targets is None else [t for t in targets if t in now]):
        state = now[name]
        seen = previous.get(name)
        before: str | None
        if name in told:
            reference, before = told[name], told[name].outcome
        else:
            reference = TargetState("login_ok", seen.host_key if seen else None, seen.certificate if seen else None)
            before = seen.outcome if seen else None
        kind = classify(reference, state)
        if kind is not None:
            out.append(Change(name, kind, before, state.outcome, state.detail, state.address, state.profile))
    return out
