"""The seal's output: complete or absent, whatever the machine does (crash, signal, full disk).

Each output file (the archive, then its receipt) is written under a temporary name in the
output folder, ``.NAME.partial-PID`` -- hidden, and never a name a user would take for the
archive -- held under an exclusive ``flock`` while it is written, then ``fsync``'d. Only when
both are complete are they published under their final names, with ``link`` (which, unlike
``rename``, never replaces a file that appeared meanwhile: a sealed archive is never
overwritten), and the folder is ``fsync``'d so the names survive a power cut.

* ``SIGKILL`` or a crash leaves at most a ``.NAME.partial-PID`` file, whose lock the kernel
  drops with the process; the next seal to the same name removes it (:func:`remove_stale`).
* ``SIGINT`` / ``SIGTERM`` raise inside the seal (:class:`SignalGuard`); the partial files are
  removed on the way out and :class:`SealInterrupted` says so, exit 130 / 143. Once publishing
  has begun (two ``link`` calls), a signal no longer stops it: the seal finishes.
* A full disk, a read-only file system or a refused permission becomes the one-line
  :class:`~evidence_kit.errors.MachineError` for the output path.

The case folder is only ever read.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from evidence_kit import interrupts
from evidence_kit.errors import (
    DiskFullError,
    EvidenceKitError,
    MachineError,
    PermissionDeniedError,
    ReadOnlyFilesystemError,
    UsageError,
    machine_error,
)

PARTIAL_INFIX = ".partial-"
NOTHING_SEALED = "nothing was sealed and the case folder is unchanged"
_WAY_OUT: dict[type[MachineError], str] = {
    DiskFullError: "free space there or seal to another folder",
    ReadOnlyFilesystemError: "seal to a writable folder",
    PermissionDeniedError: "seal to a folder you may write to",
}
# File systems without hard links answer link() with one of these; rename() is the fallback.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


def refused(exc: OSError, path: Path | str, doing: str) -> BaseException:
    """The :class:`MachineError` for ``exc`` at the output ``path``, or ``exc`` itself when it is
    not the machine's condition. Raise the result ``from exc``."""
    err = machine_error(exc, path, doing)
    if err is None:
        return exc
    return type(err)(path, doing, f"{NOTHING_SEALED}; {_WAY_OUT.get(type(err), 'see the path above')}")


def partial_path(final: Path, pid: int | None = None) -> Path:
    return final.with_name(f".{final.name}{PARTIAL_INFIX}{os.getpid() if pid is None else pid}")


def is_partial_of(name: str, final: Path) -> bool:
    prefix = f".{final.name}{PARTIAL_INFIX}"
    return name.startswith(prefix) and name[len(prefix):].isdigit()


def remove_stale(final: Path) -> list[Path]:
    """Remove the partial files an earlier seal of ``final`` left when it was killed.

    A partial file whose lock can be taken has no writer any more; one still locked belongs
    to a seal that is running and is left alone. Best effort: a file that cannot be removed
    (a read-only folder) is ignored, as it is never taken for the archive.
    """
    removed: list[Path] = []
    try:
        names = os.listdir(final.parent)
    except OSError:
        return removed
    for name in sorted(names):
        if not is_partial_of(name, final):
            continue
        path = final.parent / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
            removed.append(path)
        except OSError:
            pass  # still being written (BlockingIOError), or not removable here
        finally:
            os.close(fd)
    return removed


class PartialFile:
    """One output file being written under its partial name; removed unless published."""

    def __init__(self, final: Path, what: str) -> None:
        self.final = final
        self.what = what
        self.path = partial_path(final)
        self.published = False
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            raise UsageError(f"{final}: another seal in this process is writing it")
        except OSError as exc:
            raise refused(exc, final, f"creating the {what}") from exc
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until closed: tells remove_stale we are alive
        self.file = os.fdopen(fd, "wb")

    def complete(self) -> None:
        """Everything written has reached the disk (the descriptor, and the lock, stay open)."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
        except OSError as exc:
            raise refused(exc, self.final, f"writing the {self.what}") from exc

    def publish(self) -> None:
        """Give the complete file its final name; never replaces an existing file."""
        try:
            os.link(self.path, self.final)
        except FileExistsError:
            raise UsageError(f"{self.final}: appeared while sealing; a sealed archive is never overwritten")
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise refused(exc, self.final, f"naming the {self.what}") from exc
            if self.final.exists():
                raise UsageError(f"{self.final}: appeared while sealing; a sealed archive is never overwritten")
            os.rename(self.path, self.final)
        else:
            self.path.unlink()
        self.published = True

    def discard(self) -> None:
        """Close; remove the partial name. Safe to call twice, and after :meth:`publish`."""
        if not self.published:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
        self.file.close()


def publish(files: list[PartialFile], folder: Path) -> None:
    """Publish complete files in order, then make their names durable."""
    for partial in files:
        partial.publish()
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise refused(exc, folder, "making the new names durable") from exc


# --------------------------------------------------------------------------- signals


class SealInterrupted(EvidenceKitError):
    """SIGINT or SIGTERM stopped the seal before it published anything.

    Exit 128 + the signal number, as a shell reports it: 130 for SIGINT (Ctrl-C), 143 for
    SIGTERM (systemd's stop), so a service manager can tell the two apart.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"seal interrupted by {signal.Signals(signum).name}: {NOTHING_SEALED} "
                         "(no archive, no receipt)")


class _Stop(BaseException):
    """Raised by the signal handler; a BaseException so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class SignalGuard:
    """Turns SIGINT and SIGTERM into an exception in the main thread while the seal runs.

    Only a handler that is still Python's default is replaced (an embedding program's own
    handlers are left alone); the previous ones are restored on exit. After the first signal
    further ones are ignored, so the clean-up itself cannot be interrupted; after :meth:`hold`
    a signal is only remembered.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self._defer = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signum
        if not self._defer:
            raise _Stop(signum)

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                current = signal.getsignal(sig)
                if current in interrupts.REPLACEABLE:
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def hold(self) -> None:
        """From now on (publishing has begun) a signal is only remembered: the seal finishes."""
        self._defer = True


@contextmanager
def interruptible() -> Iterator[SignalGuard]:
    """Run the seal under a :class:`SignalGuard`; a signal (or Ctrl-C through Python's own
    handler) surfaces as :class:`SealInterrupted` after the partial files are gone."""
    guard = SignalGuard()
    try:
        with guard:
            yield guard
    except _Stop as stop:
        raise SealInterrupted(stop.signum) from None
    except KeyboardInterrupt as exc:
        raise SealInterrupted(interrupts.signal_of(exc)) from None
    except Exception:
        # A signal that landed inside a library's callback (pyrage's reader or writer) comes
        # back as that library's own error: the signal is still the cause.
        if guard.received is not None:
            raise SealInterrupted(guard.received) from None
        raise
