"""Artifacts are hashed as they are written (streaming), and never overwrite anything.

The record of an artifact is the truth about the file on disk: its size and hash cover exactly
the bytes that reached it. When the disk fills (or anything else refuses a write) part-way, the
record says so (``complete`` false, with the problem), still covers exactly what is in the file,
and the writer refuses further writes; the session journals that record, so a torn artifact is
evidence of the fault rather than a file the journal misdescribes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from evidence_kit.case import diskio


@dataclass(frozen=True)
class ArtifactRecord:
    path: str  # relative to the case folder, POSIX separators
    sha256: str
    size: int
    kind: str
    media_type: str
    complete: bool = True
    problem: str = ""  # why it is not complete (the OS's words)

    def journal_form(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


class ArtifactWriter:
    """A write-only binary file that hashes exactly what reaches it.

    The file is created exclusively: an artifact never replaces another. ``close`` fsyncs the
    data and returns the record for the caller to journal. A failed write raises (an
    ``OSError``, :class:`~evidence_kit.case.diskio.WriteFailed` when part of it was written);
    the record made by ``close`` afterwards covers the bytes that did reach the file.
    """

    def __init__(self, case_root: Path, relpath: str, kind: str, media_type: str,
                 on_failure: Callable[[ArtifactWriter, OSError], None] | None = None) -> None:
        self._root = case_root
        self._on_failure = on_failure  # told of the first refusal at once (the session stops the run)
        self.relpath = relpath
        self.kind = kind
        self.media_type = media_type
        self.full = case_root / relpath
        self.full.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.full, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._sha = hashlib.sha256()
        self._size = 0
        self.problem = ""
        # The machine's first refusal (disk full...): the cause every later refusal repeats, so
        # whoever reports the fault reports this one, whatever exception reaches them.
        self.failure: OSError | None = None
        self.record: ArtifactRecord | None = None

    def write(self, data: bytes) -> int:
        if self.failure is not None:
            raise OSError(self.failure.errno, f"{self.relpath}: not written after an earlier failure "
                                              f"({self.problem})")
        try:
            diskio.write_all(self._fd, data)
        except diskio.WriteFailed as exc:
            self._account(data[: exc.written])
            self.problem = exc.strerror or str(exc)
            self.failure = exc
            if self._on_failure is not None:
                self._on_failure(self, exc)
            raise
        self._account(data)
        return len(data)

    def _account(self, data: bytes | memoryview) -> None:
        self._sha.update(data)
        self._size += len(data)

    def flush(self) -> None:
        """Nothing is buffered: every write went to the file already."""

    @property
    def closed(self) -> bool:
        return self.record is not None

    def close(self) -> ArtifactRecord:
        if self.record is not None:
            return self.record
        try:
            os.fsync(self._fd)
        except OSError as exc:
            # The bytes may not all be durable: describe the file as the system now has it.
            self.problem = self.problem or f"fsync failed: {exc.strerror or exc}"
            self.failure = self.failure or exc
            os.close(self._fd)
            digest, size = sha256_file(self.full)
            self.record = self._make(digest, size)
            return self.record
        os.close(self._fd)
        self.record = self._make(self._sha.hexdigest(), self._size)
        return self.record

    def _make(self, digest: str, size: int) -> ArtifactRecord:
        return ArtifactRecord(self.relpath, digest, size, self.kind, self.media_type,
                              complete=not self.problem, problem=self.problem)

    def __enter__(self) -> ArtifactWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def sha256_file(path: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size
