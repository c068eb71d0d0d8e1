"""The case folder: created whole or not at all, reopened for each run, recovered after faults.

    case = Case.open_for_capture(root, details, run_facts)
    with case.target("core-router", kind="ssh", profile="cisco_ios", address="10.0.0.1:22",
                     secrets={"password": password}) as session:
        session.event("connected", {...})
        with session.artifact("transcript.cast", kind="asciicast", media_type=...) as w:
            w.write(b"...")
        session.finish(Outcome.LOGIN_OK, "prompt '#' reached")

A new case is written under temporary names (case.json, its journal with ``case_created`` and
the authorization letter) and committed by renaming case.json into place last: a fault during
creation leaves no case rather than a case without a beginning (case/create.py). Reopening a
case checks its journal chain, sets a torn final line aside, and journals any artifact file a
faulted run wrote but could not journal (``artifact_recovered``), so every file the case holds
is named by its journal with the hash of the bytes it really has.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets as _secrets
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.case import diskio
from evidence_kit.case.artifacts import sha256_file
from evidence_kit.case.commitments import CommitmentParams
from evidence_kit.case.create import CASE_FILE, LEFTOVERS, create_case, resume_creation
from evidence_kit.case.journal import JOURNAL_NAME, Journal, check_journal, read_entries, utc_now
from evidence_kit.case.session import ARTIFACTS_DIR, TargetSession, slug
from evidence_kit.errors import CaseError, MachineError
from evidence_kit.secrets import Secret

CASE_FORMAT = "evidence-kit-case/1"


@dataclass(frozen=True)
class CaseDetails:
    """Who and what a case is about; comes from the inventory's ``case:`` block."""

    client: str
    provider: str
    technician: str
    purpose: str = "credential handover"
    authorization: Path | None = None
    recipients: tuple[str, ...] = ()


def new_case_id(client: str) -> str:
    day = utc_now()[:10].replace("-", "")
    return f"{slug(client).lower()[:24]}-{day}-{_secrets.token_hex(4)}"


class Cancellation:
    """A run being stopped (Ctrl-C, SIGTERM): queued targets do not start, running ones are closed."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._sessions: set[TargetSession] = set()
        self.reason = ""

    def is_set(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            running = list(self._sessions)
        for session in running:
            session.cancel()

    def watch(self, session: TargetSession) -> None:
        with self._lock:
            self._sessions.add(session)

    def unwatch(self, session: TargetSession) -> None:
        with self._lock:
            self._sessions.discard(session)


class Case:
    """An open case folder with its journal, ready for capture."""

    def __init__(self, root: Path, info: dict[str, Any], journal: Journal, lock: Any = None) -> None:
        self.root = root
        self.info = info
        self.journal = journal
        self.commitment_params = CommitmentParams.from_case(info)
        self.cancellation = Cancellation()
        self._fault: MachineError | None = None
        self._lock = lock  # the held case_lock context, released by close()

    @property
    def case_id(self) -> str:
        return str(self.info["case_id"])

    @property
    def fault(self) -> MachineError | None:
        """The machine's refusal that stopped this run (disk full...), if any."""
        journal_fault = self.journal.fault
        return self._fault or (journal_fault if isinstance(journal_fault, MachineError) else None)

    def record_fault(self, fault: MachineError) -> None:
        """Remember the machine's first refusal (a journal that refused first keeps its own) and
        stop the run: no target goes on writing into a full disk."""
        if self._fault is None and not isinstance(self.journal.fault, MachineError):
            self._fault = fault
        self.cancellation.cancel(f"stopped ({self.fault.one_line() if self.fault else fault.one_line()})")

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
        doing = "opening the case folder"
        made = not root.exists()  # a folder this call makes is removed again if creation fails
        try:
            if root.exists() and not case_file.exists() and not resume_creation(root) and any(
                    p for p in root.iterdir() if p.name not in LEFTOVERS):
                raise CaseError(f"{root}: folder exists, is not empty and is not a case folder (no {CASE_FILE})")
            root.mkdir(parents=True, exist_ok=True)
            # Held until close(): one capture at a time per case, and seal waits for it.
            lock = case_lock(root, shared=False)
            lock.__enter__()
        except OSError as exc:
            raise diskio.as_machine_error(exc, root, doing, "choose a folder you can write to") from exc
        try:
            if case_file.exists():
                info, journal = _reopen_or_refuse(root)
            else:
                info, journal = create_case(root, details, run_facts, case_id or new_case_id(details.client),
                                            CASE_FORMAT)
            case = cls(root, info, journal, lock)
            case.journal.append("run_started", run_facts)
        except BaseException:
            lock.__exit__(None, None, None)
            if made and not case_file.exists():
                with contextlib.suppress(OSError):
                    root.rmdir()  # complete or absent: not even an empty folder stays
            raise
        return case

    def target(
        self, name: str, kind: str, profile: str, address: str, secrets: Mapping[str, Secret] | None = None
    ) -> TargetSession:
        return TargetSession(self, name, kind, profile, address, secrets)

    def close(self, summary: dict[str, Any] | None = None) -> None:
        """Journal the run's end (also after an artifact the machine refused, while the journal still
        takes entries: the summary says the run was stopped), release the case."""
        try:
            earlier = self.fault
            if self.journal.fault is None:
                try:
                    self.journal.append("run_finished", summary or {})
                except (OSError, MachineError):
                    if earlier is None:
                        raise
                    # The disk refused this too: the first fault is the one to report.
        finally:
            try:
                self.journal.close()
            finally:
                if self._lock is not None:
                    self._lock.__exit__(None, None, None)
                    self._lock = None


def _reopen_or_refuse(root: Path) -> tuple[dict[str, Any], Journal]:
    """:func:`_reopen`, with the machine's refusals (a full disk, a read-only folder, a journal
    the user may not write) in their own words: the path, and that the case is as it was."""
    try:
        return _reopen(root)
    except OSError as exc:
        path = exc.filename or root
        way_out = ("fix that (free space, make it writable), then run capture again: the case continues from its "
                   "last complete entry")
        err = diskio.as_machine_error(exc, path, "reopening the case", way_out)
        if isinstance(err, MachineError):
            raise err from exc
        raise CaseError(f"{path}: {exc.strerror or exc} while reopening the case; {way_out}") from exc


def _reopen(root: Path) -> tuple[dict[str, Any], Journal]:
    """An existing case, checked; a torn tail and unjournaled artifacts recorded, then ready."""
    journal_path = root / JOURNAL_NAME
    info = load_case_info(root)
    check = check_journal(journal_path)
    if not check.ok:
        raise CaseError(f"{journal_path}: journal chain broken at {check.describe()}")
    require_beginning(root, info, check.entries)
    torn = _set_aside_torn_tail(journal_path, check.torn_tail_bytes, check.entries)
    journal = Journal.open(journal_path, run=check.last_run + 1, check=check)
    if torn:
        journal.append("journal_recovered", torn, artifact=torn.pop("artifact"))
    for found in _unjournaled_artifacts(root, journal_path):
        journal.append("artifact_recovered", {
            "note": "written by an earlier run that stopped before it could journal this file (a fault or a "
                    "kill); recorded as found",
        }, artifact=found)
    return info, journal


def require_beginning(root: Path, info: dict[str, Any], entries: int, consequence: str = "") -> None:
    """Refuse a case whose journal does not begin with its own ``case_created`` (a creation an
    older version left half done): it can be neither continued nor sealed into evidence that
    verifies. Capture and seal both ask this (seal adds its ``consequence``)."""
    journal_path = Path(root) / JOURNAL_NAME
    way_out = f"move {root} aside and capture into a new folder{consequence}"
    if entries == 0:
        raise CaseError(f"{journal_path}: the case has no beginning (no case_created entry): it was not created "
                        f"completely; {way_out}")
    first = next(read_entries(journal_path))
    if first.get("event") != "case_created" or first.get("data", {}).get("case_id") != info.get("case_id"):
        raise CaseError(f"{journal_path}: the case has no beginning (its first entry is not this case's "
                        f"case_created): it was not created completely; {way_out}")


def append_to_last_run(root: Path, entries: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Journal what happened after a seal (the seal's record, alerts, a handover) into the case's
    last run, not a new one: the archive just sealed stays as its signature says, and the next
    seal carries these entries. The caller holds the case's lock exclusively. Raises CaseError
    when the journal is not intact, and the machine's condition when it cannot be written."""
    path = Path(root) / JOURNAL_NAME
    check = check_journal(path)
    if not check.ok or check.torn_tail_bytes or check.entries == 0:
        raise CaseError(f"{path}: the journal is not intact ({check.describe()})")
    try:
        journal = Journal.open(path, run=check.last_run, check=check)
    except OSError as exc:
        raise diskio.as_machine_error(exc, path, "opening the journal") from exc
    try:
        return [journal.append(event, data) for event, data in entries]
    finally:
        journal.close()


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



def _set_aside_torn_tail(journal_path: Path, torn_bytes: int, entries: int) -> dict[str, Any] | None:
    """Move a torn final line (a kill mid-append) beside the journal, keeping its bytes."""
    if not torn_bytes:
        return None
    with open(journal_path, "rb+") as fh:
        fh.seek(-torn_bytes, os.SEEK_END)
        tail = fh.read()
        aside = journal_path.with_name(f"journal.torn-after-{entries}-{int(time.time())}.bin")
        diskio.write_file(aside, tail)  # whole and fsync'd, or not there at all
        fh.truncate(fh.seek(-torn_bytes, os.SEEK_END))
        fh.flush()
        os.fsync(fh.fileno())
    digest = hashlib.sha256(tail).hexdigest()
    return {
        "torn_tail_bytes": torn_bytes,
        "set_aside_as": aside.name,
        "sha256": digest,
        "after_seq": entries,
        "artifact": {"path": aside.name, "sha256": digest, "size": torn_bytes},
    }


def _unjournaled_artifacts(root: Path, journal_path: Path) -> list[dict[str, Any]]:
    """Artifact files on disk that no journal entry names, with their hashes."""
    named = {str(e["artifact"]["path"]) for e in read_entries(journal_path) if e.get("artifact")}
    folder = root / ARTIFACTS_DIR
    # A torn tail set aside by a reopen that the machine then stopped before it could journal it.
    found = sorted(root.glob("journal.torn-after-*.bin"))
    if folder.is_dir():
        found += sorted(p for p in folder.rglob("*") if p.is_file())
    out = []
    for path in found:
        rel = path.relative_to(root).as_posix()
        if rel not in named:
            digest, size = sha256_file(path)
            out.append({"path": rel, "sha256": digest, "size": size})
    return out
