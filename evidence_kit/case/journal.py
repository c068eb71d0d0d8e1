"""The hash-chained, fsync'd case journal (``journal.jsonl``).

One JSON object per line. Each entry carries the previous entry's hash and its own, so an
edited, removed or reordered entry breaks the chain at a point the verifier names. Each append
is one ``write`` to an ``O_APPEND`` descriptor followed by ``fsync``: a ``kill -9`` at any
moment leaves a chain that verifies as a prefix, with at most a torn final line. An append the
machine refuses (disk full, I/O error) is cut back off the file, and the journal then refuses
every later append with the same error: nothing is ever appended after a torn line.

Entry fields (see docs/case-format.md):
``seq`` (1-based), ``time`` (UTC RFC 3339, microseconds), ``mono`` (monotonic seconds since the
run started), ``run``, ``target`` (or null), ``event``, ``data``, ``artifact`` (or null:
``{"path", "sha256", "size"}``), ``prev``, ``hash``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from evidence_kit.case import diskio
from evidence_kit.errors import MachineError

GENESIS = "0" * 64
JOURNAL_NAME = "journal.jsonl"
ENTRY_FIELDS = ("seq", "time", "mono", "run", "target", "event", "data", "artifact", "prev", "hash")


def canonical_json(obj: Any) -> bytes:
    """The one serialisation that hashes are computed over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def utc_now() -> str:
    return rfc3339(_dt.datetime.now(_dt.UTC))


def rfc3339(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class JournalCheck:
    """Result of checking a journal's hash chain."""

    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None
    first_bad_line: int | None = None
    problem: str | None = None
    torn_tail_bytes: int = 0
    last_run: int = 0

    def describe(self) -> str:
        if self.ok:
            torn = f"; a torn final line of {self.torn_tail_bytes} bytes follows" if self.torn_tail_bytes else ""
            return f"{self.entries} entries, chain intact, head {self.head[:16]}{torn}"
        return f"entry seq {self.first_bad_seq} (line {self.first_bad_line}): {self.problem}"


def iter_entries(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, raw line) for every complete line; streaming, constant memory."""
    with open(path, "rb") as fh:
        yield from enumerate(fh, start=1)


def check_journal(path: Path) -> JournalCheck:
    """Verify the chain of ``path``. A torn final line (no newline) is reported, not fatal."""
    prev = GENESIS
    count = 0
    last_run = 0
    if not path.exists():
        return JournalCheck(False, 0, GENESIS, 1, 1, f"{path.name} is missing")
    for number, raw in iter_entries(path):
        if not raw.endswith(b"\n"):
            return JournalCheck(True, count, prev, torn_tail_bytes=len(raw), last_run=last_run)
        expected_seq = count + 1
        try:
            entry = json.loads(raw)
        except ValueError:
            return JournalCheck(False, count, prev, expected_seq, number, "not valid JSON")
        if not isinstance(entry, dict) or set(entry) != set(ENTRY_FIELDS):
            return JournalCheck(False, count, prev, expected_seq, number, "fields are not those of an entry")
        if entry["seq"] != expected_seq:
            return JournalCheck(
                False, count, prev, expected_seq, number,
                f"sequence number is {entry['seq']!r}, expected {expected_seq} (entry removed or reordered)",
            )
        if entry["prev"] != prev:
            return JournalCheck(False, count, prev, expected_seq, number, "previous-hash link does not match")
        if entry_hash(entry) != entry["hash"]:
            return JournalCheck(False, count, prev, expected_seq, number, "entry hash does not match its content")
        prev = entry["hash"]
        last_run = max(last_run, int(entry.get("run") or 0))
        count += 1
    return JournalCheck(True, count, prev, last_run=last_run)


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """Yield parsed complete entries (no chain check: call :func:`check_journal` first)."""
    for _, raw in iter_entries(path):
        if raw.endswith(b"\n"):
            yield json.loads(raw)


@dataclass
class Journal:
    """An open journal, appending after a verified head. Thread-safe."""

    path: Path
    run: int
    head: str
    seq: int
    _fd: int = -1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    _synced: int = 0
    _mono0: float = field(default_factory=time.monotonic)
    # The machine's refusal that stopped this journal (disk full...), or None.
    fault: MachineError | OSError | None = None

    @classmethod
    def open(cls, path: Path, run: int, check: JournalCheck) -> Journal:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return cls(path=path, run=run, head=check.head, seq=check.entries, _fd=fd)

    def append(
        self,
        event: str,
        data: dict[str, Any] | None = None,
        *,
        target: str | None = None,
        artifact: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            if self.fault is not None:
                raise self.fault
            if self._fd < 0:
                raise RuntimeError("journal is closed")
            entry: dict[str, Any] = {
                "seq": self.seq + 1,
                "time": utc_now(),
                "mono": round(time.monotonic() - self._mono0, 6),
                "run": self.run,
                "target": target,
                "event": event,
                "data": data or {},
                "artifact": artifact,
                "prev": self.head,
            }
            entry["hash"] = entry_hash(entry)
            line = canonical_json(entry) + b"\n"
            # One write of the whole line: either the entry is there whole or torn at the end,
            # where check_journal tolerates it as a torn tail.
            before = os.fstat(self._fd).st_size
            try:
                try:
                    diskio.write_all(self._fd, line)
                except OSError as exc:
                    self._refuse(exc, before, "appending to the journal")
                self.seq += 1
                self.head = entry["hash"]
            except KeyboardInterrupt:
                # Ctrl-C / SIGTERM raised between bytecodes of this thread (the main one appends
                # too): make the head what the file now ends with, so the next append, maybe another
                # thread's, continues the chain instead of repeating a seq after a whole or half line.
                self._settle(before, len(line), entry)
                raise
            mine = self.seq
            fd = self._fd
        # Group commit: an append returns only once its entry is on disk, but one fdatasync
        # covers every entry written before it, so parallel targets do not queue one sync each.
        with self._sync_lock:
            if self._synced < mine:
                upto = self.seq
                try:
                    os.fdatasync(fd)
                except OSError as exc:
                    self._refuse(exc, None, "syncing the journal to disk")
                self._synced = upto
        return entry

    def _settle(self, before: int, length: int, entry: dict[str, Any]) -> None:
        """After an interrupted append: the entry is in the file whole (it counts), or not at all."""
        try:
            size = os.fstat(self._fd).st_size
            if size >= before + length:
                self.seq, self.head = entry["seq"], entry["hash"]
                return
            if size > before:
                os.ftruncate(self._fd, before)  # half a line: cut back, as a refused write is
        except OSError:
            pass
        self.seq, self.head = entry["seq"] - 1, entry["prev"]

    def _refuse(self, exc: OSError, cut_to: int | None, doing: str) -> NoReturn:
        """Stop the journal on a refused write: cut a torn line back off, remember, raise."""
        if cut_to is not None:
            try:
                os.ftruncate(self._fd, cut_to)  # needs no free space
            except OSError:
                pass  # left as a torn tail: the next open sets it aside
        self.fault = diskio.as_machine_error(
            exc, self.path, doing, "free space (or fix the folder), then run capture again: the case continues "
            "from its last complete entry")
        if self.fault is exc:
            raise
        raise self.fault from exc

    def close(self) -> None:
        with self._lock, self._sync_lock:
            if self._fd >= 0:
                try:
                    if self.fault is None:
                        os.fsync(self._fd)
                finally:
                    os.close(self._fd)
                    self._fd = -1
