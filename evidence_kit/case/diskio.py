"""Writing evidence to disk so that what is recorded is exactly what reached the disk.

Every byte of a case (journal lines, artifacts, case.json) is written through :func:`write_all`,
straight to a file descriptor with ``os.write``: no user-space buffer can hold bytes back or
flush them later, and when a write fails part-way (a full disk writes what fits, then refuses)
the exception says how many bytes *did* reach the file (:class:`WriteFailed`). Callers count and
hash only those.

``os_write`` is the one place the system call is made: the fault-injection tests replace it to
make the N-th write of a run fail after writing part of its data, as a full disk really does.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from evidence_kit.errors import MachineError, machine_error

os_write: Callable[[int, bytes | memoryview], int] = os.write


class WriteFailed(OSError):
    """A write that stopped part-way: ``written`` bytes of it are in the file, the rest is not."""

    def __init__(self, cause: OSError, written: int) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.cause = cause
        self.written = written


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` at the descriptor's position, or raise :class:`WriteFailed`."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        try:
            wrote = os_write(fd, view[done:])
        except InterruptedError:
            continue
        except OSError as exc:
            raise WriteFailed(exc, done) from exc
        if wrote <= 0:  # no progress (a device that takes nothing): refuse rather than spin
            raise WriteFailed(OSError(errno.EIO, "the system accepted none of the data"), done)
        done += wrote


def fsync_path(path: Path, directory: bool = False) -> None:
    """fsync a file, or a folder so that a rename or a new name in it survives a crash."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Create ``path`` (never replacing it), write ``data`` and fsync it; removed again on failure."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def as_machine_error(exc: OSError, path: Path | str, doing: str, way_out: str = "") -> MachineError | OSError:
    """The machine's condition an OSError stands for (disk full...), else the OSError itself."""
    cause = exc.cause if isinstance(exc, WriteFailed) else exc
    return machine_error(cause, path, doing, way_out) or exc
