"""Artifacts are hashed as they are written (streaming), and never overwrite anything."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class ArtifactRecord:
    path: str  # relative to the case folder, POSIX separators
    sha256: str
    size: int
    kind: str
    media_type: str

    def journal_form(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


class ArtifactWriter:
    """A write-only binary file that hashes what passes through it.

    The file is created exclusively (``x``): an artifact never replaces another. ``close``
    fsyncs the data, then the caller journals the returned record.
    """

    def __init__(self, case_root: Path, relpath: str, kind: str, media_type: str) -> None:
        self._root = case_root
        self.relpath = relpath
        self.kind = kind
        self.media_type = media_type
        full = case_root / relpath
        full.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(full, "xb")
        self._sha = hashlib.sha256()
        self._size = 0
        self.record: ArtifactRecord | None = None

    def write(self, data: bytes) -> int:
        self._fh.write(data)
        self._sha.update(data)
        self._size += len(data)
        return len(data)

    def flush(self) -> None:
        self._fh.flush()

    @property
    def closed(self) -> bool:
        return self.record is not None

    def close(self) -> ArtifactRecord:
        if self.record is None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self.record = ArtifactRecord(self.relpath, self._sha.hexdigest(), self._size, self.kind, self.media_type)
        return self.record

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
