"""The case folder and the one API every capture driver uses.

    case = Case.open_for_capture(root, details)
    with case.target("core-router", kind="ssh", profile="cisco_ios", address="10.0.0.1:22",
                     secrets={"password": password}) as session:
        session.event("connected", {...})
        with session.artifact("transcript.cast", kind="asciicast", media_type=...) as w:
            w.write(b"...")
        session.finish(Outcome.LOGIN_OK, "prompt '#' reached")

The session owns the target's secrets: it journals a commitment to each when it opens, feeds
every form of them to its redactor and to the log redaction, and hands them to the driver by
field name (:meth:`TargetSession.secret`). Everything a session journals passes through the
redactor first: a secret that slips into an exception message or a device banner is replaced
before it reaches disk.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets as _secrets
import shutil
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from evidence_kit.case.artifacts import ArtifactRecord, ArtifactWriter, sha256_file
from evidence_kit.case.commitments import CommitmentParams, commit
from evidence_kit.case.journal import GENESIS, JOURNAL_NAME, Journal, JournalCheck, check_journal, utc_now
from evidence_kit.case.outcome import Outcome
from evidence_kit.errors import CaseError
from evidence_kit.redact import Redactor, StreamRedactor, redact_logs
from evidence_kit.secrets import Secret

CASE_FORMAT = "evidence-kit-case/1"
CASE_FILE = "case.json"
ARTIFACTS_DIR = "artifacts"
AUTHORIZATION_DIR = "authorization"


@dataclass(frozen=True)
class CaseDetails:
    """Who and what a case is about; comes from the inventory's ``case:`` block."""

    client: str
    provider: str
    technician: str
    purpose: str = "credential handover"
    authorization: Path | None = None
    recipients: tuple[str, ...] = ()


def slug(name: str) -> str:
    """A folder-safe form of a target name (names are validated, but stay defensive)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "target"
    return cleaned[:80]


def new_case_id(client: str) -> str:
    day = utc_now()[:10].replace("-", "")
    return f"{slug(client).lower()[:24]}-{day}-{_secrets.token_hex(4)}"


@dataclass
class TargetResult:
    """What one target ended with: the summary line of a run and of a report."""

    name: str
    kind: str
    profile: str
    address: str
    outcome: Outcome
    detail: str = ""
    started: str = ""
    finished: str = ""
    identity: dict[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "profile": self.profile, "address": self.address,
            "outcome": self.outcome.value, "detail": self.detail, "started": self.started,
            "finished": self.finished, "identity": self.identity, "artifacts": self.artifacts,
        }


class TargetSession:
    """One target's part of the case: its secrets, events, artifacts, and exactly one outcome."""

    def __init__(
        self, case: Case, name: str, kind: str, profile: str, address: str,
        secrets: Mapping[str, Secret] | None = None,
    ) -> None:
        self.case = case
        self.name = name
        self.kind = kind
        self.profile = profile
        self.address = address
        self._secrets = dict(secrets or {})
        self._redacted: list[str] = []
        self.redactor = Redactor()
        for secret in self._secrets.values():
            self.add_secret(secret.reveal())
        self.folder = f"{ARTIFACTS_DIR}/{slug(name)}/run{case.journal.run:03d}"
        self.started = utc_now()
        self.identity: dict[str, Any] = {}
        self.result: TargetResult | None = None
        self._artifacts: list[str] = []
        self._lock = threading.Lock()
        self.event("target_started", {"kind": kind, "profile": profile, "address": address})
        for field_name, secret in self._secrets.items():
            # A salted scrypt commitment to each credential (never the credential itself).
            self.event("credential_commitment",
                       commit(case.commitment_params, secret.reveal(), target=name, field=field_name))

    def secret(self, field_name: str) -> Secret | None:
        """The target's secret for ``field_name`` (``password``, ``totp``, a ``secrets:`` name)."""
        return self._secrets.get(field_name)

    def add_secret(self, value: str) -> None:
        """Redact a secret learned mid-session (a TOTP code, a seed's bare form) from now on."""
        if value and value not in self._redacted:
            self._redacted.append(value)
            self.redactor.add(value)
            redact_logs(value)

    def redaction_values(self) -> list[str]:
        """Every secret this session redacts (its own and learned ones), for a scrubber that must
        treat them one by one (trace_scrub.py); a copy, read at the point of use."""
        return list(self._redacted)

    def event(self, event: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.case.journal.append(event, self.redactor.redact_obj(data or {}), target=self.name)

    def set_identity(self, **facts: Any) -> None:
        """Record what identifies the far end (host key, certificate, account) for the summary."""
        self.identity.update(self.redactor.redact_obj(facts))

    @contextmanager
    def artifact(self, name: str, kind: str, media_type: str, redact: bool = True, **meta: Any):
        """Open a new artifact for streaming writes; journaled with its hash when closed.

        With ``redact`` (the default, for text) the bytes pass a stream redactor first; binary
        artifacts (PNG, zip) that were checked by other means pass ``redact=False``.
        """
        writer = self._new_writer(name, kind, media_type)
        sink: _RedactingWriter | ArtifactWriter = (
            _RedactingWriter(writer, self.redactor.stream()) if redact and self.redactor else writer
        )
        try:
            yield sink
        finally:
            record = sink.close()
            self._journal_artifact(record, meta)

    def add_artifact(
        self, name: str, data: bytes, kind: str, media_type: str, redact: bool = True, **meta: Any
    ) -> ArtifactRecord:
        with self.artifact(name, kind, media_type, redact=redact, **meta) as w:
            w.write(data)
        return w.close()

    def relpath(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def _new_writer(self, name: str, kind: str, media_type: str) -> ArtifactWriter:
        safe = slug(name)
        with self._lock:
            base, dot, ext = safe.rpartition(".")
            candidate, n = safe, 1
            while (self.case.root / self.folder / candidate).exists():
                n += 1
                candidate = f"{base}-{n}{dot}{ext}" if dot else f"{safe}-{n}"
            writer = ArtifactWriter(self.case.root, f"{self.folder}/{candidate}", kind, media_type)
            self._artifacts.append(writer.relpath)
            return writer

    def _journal_artifact(self, record: ArtifactRecord, meta: dict[str, Any]) -> None:
        data = {"kind": record.kind, "media_type": record.media_type, **meta}
        self.case.journal.append(
            "artifact_added", self.redactor.redact_obj(data), target=self.name, artifact=record.journal_form()
        )

    def finish(self, outcome: Outcome, detail: str = "", **data: Any) -> TargetResult:
        """End the target with its one outcome. A second call is ignored (first outcome wins)."""
        if self.result is not None:
            return self.result
        detail = self.redactor.redact_text(detail)
        finished = utc_now()
        self.event(
            "target_finished",
            {"outcome": outcome.value, "detail": detail, "identity": self.identity, **data},
        )
        self.result = TargetResult(
            self.name, self.kind, self.profile, self.address, outcome, detail,
            self.started, finished, dict(self.identity), list(self._artifacts),
        )
        return self.result

    def __enter__(self) -> TargetSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A driver that crashed still leaves an outcome: failures are evidence.
        if self.result is None:
            if exc is not None:
                self.finish(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
            else:
                self.finish(Outcome.ERROR, "driver ended without an outcome")


class _RedactingWriter:
    def __init__(self, writer: ArtifactWriter, stream: StreamRedactor) -> None:
        self._w = writer
        self._s = stream

    def write(self, data: bytes) -> int:
        self._w.write(self._s.feed(data))
        return len(data)

    def flush(self) -> None:
        self._w.flush()

    def close(self) -> ArtifactRecord:
        if not self._w.closed:
            self._w.write(self._s.flush())
        return self._w.close()


class Case:
    """An open case folder with its journal, ready for capture."""

    def __init__(self, root: Path, info: dict[str, Any], journal: Journal, lock: Any = None) -> None:
        self.root = root
        self.info = info
        self.journal = journal
        self.commitment_params = CommitmentParams.from_case(info)
        self._lock = lock  # the held case_lock context, released by close()

    @property
    def case_id(self) -> str:
        return str(self.info["case_id"])

    @classmethod
    def open_for_capture(
        cls, root: Path, details: CaseDetails, run_facts: dict[str, Any], case_id: str | None = None
    ) -> Case:
        """Create ``root`` as a new case, or append a new run to the case already there.

        Nothing in an existing case is overwritten: case.json stays as it was created and
        each run's facts (host, versions, clock) go into its ``run_started`` entry.
        """
        root = Path(root)
        case_file = root / CASE_FILE
        journal_path = root / JOURNAL_NAME
        if not case_file.exists() and root.exists() and any(root.iterdir()):
            raise CaseError(f"{root}: folder exists, is not empty and is not a case folder (no {CASE_FILE})")
        root.mkdir(parents=True, exist_ok=True)
        # Held until close(): one capture at a time per case, and seal waits for it.
        lock = case_lock(root, shared=False)
        lock.__enter__()
        try:
            case = cls._open(root, case_file, journal_path, details, run_facts, case_id, lock)
        except BaseException:
            lock.__exit__(None, None, None)
            raise
        case.journal.append("run_started", run_facts)
        return case

    @classmethod
    def _open(
        cls, root: Path, case_file: Path, journal_path: Path, details: CaseDetails, run_facts: dict[str, Any],
        case_id: str | None, lock: Any,
    ) -> Case:
        if case_file.exists():
            info = load_case_info(root)
            check = check_journal(journal_path)
            if not check.ok:
                raise CaseError(f"{journal_path}: journal chain broken at {check.describe()}")
            torn = _set_aside_torn_tail(journal_path, check.torn_tail_bytes, check.entries)
            journal = Journal.open(journal_path, run=check.last_run + 1, check=check)
            if torn:
                journal.append("journal_recovered", torn)
            return cls(root, info, journal, lock)
        else:
            info = _new_case_info(root, details, run_facts, case_id)
            case_file.write_bytes(json.dumps(info, indent=2, sort_keys=True).encode() + b"\n")
            _fsync_path(case_file)
            journal = Journal.open(journal_path, run=1, check=JournalCheck(True, 0, GENESIS))
            digest, size = sha256_file(case_file)
            journal.append(
                "case_created",
                {"case_id": info["case_id"], "format": CASE_FORMAT},
                artifact={"path": CASE_FILE, "sha256": digest, "size": size},
            )
            auth = info.get("authorization")
            if auth:
                journal.append(
                    "authorization_attached", {"original_name": auth["original_name"]},
                    artifact={"path": auth["path"], "sha256": auth["sha256"], "size": auth["size"]},
                )
            return cls(root, info, journal, lock)

    def target(
        self, name: str, kind: str, profile: str, address: str, secrets: Mapping[str, Secret] | None = None
    ) -> TargetSession:
        return TargetSession(self, name, kind, profile, address, secrets)

    def close(self, summary: dict[str, Any] | None = None) -> None:
        try:
            self.journal.append("run_finished", summary or {})
            self.journal.close()
        finally:
            if self._lock is not None:
                self._lock.__exit__(None, None, None)
                self._lock = None


@contextmanager
def case_lock(root: Path, shared: bool):
    """Hold the case folder's lock: exclusive while capturing, shared while sealing.

    A ``flock`` on the folder itself, so no lock file ends up in the evidence; the kernel
    drops it if the process dies (a ``kill -9`` leaves no stale lock).
    """
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CaseError(f"{root}: a capture is running into this case; wait for it to finish")
        yield fd
    finally:
        os.close(fd)


def load_case_info(root: Path) -> dict[str, Any]:
    path = Path(root) / CASE_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(f"{root}: not a case folder (no {CASE_FILE})")
    except (OSError, ValueError) as exc:
        raise CaseError(f"{path}: unreadable ({exc.__class__.__name__})")
    if not isinstance(info, dict) or info.get("format") != CASE_FORMAT:
        raise CaseError(f"{path}: not an evidence-kit case file (format {CASE_FORMAT} expected)")
    return info



def _new_case_info(
    root: Path, details: CaseDetails, run_facts: dict[str, Any], case_id: str | None
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "format": CASE_FORMAT,
        "case_id": case_id or new_case_id(details.client),
        "created": utc_now(),
        "client": details.client,
        "provider": details.provider,
        "technician": details.technician,
        "purpose": details.purpose,
        "recipients": list(details.recipients),
        "authorization": None,
        "capture_host": run_facts.get("host", {}),
        "tool": run_facts.get("tool", {}),
        "dependencies": run_facts.get("dependencies", {}),
        "clock": run_facts.get("clock", {}),
        "commitments": CommitmentParams.new().as_dict(),
    }
    if details.authorization is not None:
        src = details.authorization
        dest_rel = f"{AUTHORIZATION_DIR}/{slug(src.name)}"
        dest = root / dest_rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        _fsync_path(dest)
        digest, size = sha256_file(dest)
        info["authorization"] = {
            "original_name": src.name, "path": dest_rel, "sha256": digest, "size": size,
        }
    return info


def _set_aside_torn_tail(journal_path: Path, torn_bytes: int, entries: int) -> dict[str, Any] | None:
    """Move a torn final line (a kill mid-append) beside the journal, keeping its bytes."""
    if not torn_bytes:
        return None
    with open(journal_path, "rb+") as fh:
        fh.seek(-torn_bytes, os.SEEK_END)
        tail = fh.read()
        aside = journal_path.with_name(f"journal.torn-after-{entries}-{int(time.time())}.bin")
        aside.write_bytes(tail)
        _fsync_path(aside)
        fh.truncate(fh.seek(-torn_bytes, os.SEEK_END))
        fh.flush()
        os.fsync(fh.fileno())
    return {
        "torn_tail_bytes": torn_bytes,
        "set_aside_as": aside.name,
        "sha256": hashlib.sha256(tail).hexdigest(),
        "after_seq": entries,
    }


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
