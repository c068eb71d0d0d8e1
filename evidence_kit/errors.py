"""One error hierarchy. Each error knows its exit code and explains itself in one line.

Exit codes (docs/architecture.md): 0 all good; 1 a check or login failed (the run itself worked);
2 bad input or usage. The CLI maps an :class:`EvidenceKitError` to ``exit_code`` in one place.
"""

from __future__ import annotations

import errno
from pathlib import Path

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


class EvidenceKitError(Exception):
    """Base of every error evidence-kit raises on purpose."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def one_line(self) -> str:
        """The message as one line: users and logs get exactly one line per error."""
        return " ".join(self.message.split())


class UsageError(EvidenceKitError):
    """The command line was wrong (missing option, conflicting options)."""


class InputError(EvidenceKitError):
    """A file the user gave us is wrong. Names the file, the place and the problem."""

    def __init__(self, file: str, problem: str, where: str | None = None) -> None:
        self.file = file
        self.where = where
        self.problem = problem
        location = f"{file}: {where}: " if where else f"{file}: "
        super().__init__(location + problem)


class InventoryError(InputError):
    """The inventory YAML is malformed or refers to something that does not exist."""


class ProfileError(InputError):
    """A profile YAML is malformed."""


class SecretError(EvidenceKitError):
    """A secret reference could not be resolved (missing env var, unreadable file...)."""


class CaseError(EvidenceKitError):
    """The case folder cannot be used (journal chain broken, not a case folder...)."""


class BrowserNotFoundError(EvidenceKitError):
    """No Chromium to drive. Says how to get one."""


class KeyFileError(EvidenceKitError):
    """A key file is unreadable or of an unknown kind."""


class WrongKeyError(EvidenceKitError):
    """The identity given cannot open this archive."""


class ArchiveError(EvidenceKitError):
    """The archive is unusable as input (not found, not age, unsafe member...)."""


class CheckProblem(Exception):
    """What one check of the evidence found wrong (a bag, a signature, a time-stamp, a receipt, a
    transmittal, an age header). Not an error of the run: verify and the report turn it into a
    failed check with these words, so it never reaches the user as an error on its own."""


class CheckFailed(EvidenceKitError):
    """The run worked but evidence failed a check, or a login failed."""

    exit_code = EXIT_CHECK_FAILED


class MachineError(EvidenceKitError):
    """The machine refused an operation: disk full, read-only filesystem, permission denied.

    Not bad input and not a bug: the machine's condition, in its own words, with the path and
    the way out. Exit 2, like bad input: the run could not do its work as asked.
    """

    condition = "the operating system refused"

    def __init__(self, path: str | Path, doing: str, way_out: str = "") -> None:
        self.path = str(path)
        self.doing = doing
        self.way_out = way_out
        tail = f"; {way_out}" if way_out else ""
        super().__init__(f"{self.path}: {self.condition} while {doing}{tail}")


class DiskFullError(MachineError):
    condition = "disk full (no space left on device)"


class ReadOnlyFilesystemError(MachineError):
    condition = "read-only file system"


class PermissionDeniedError(MachineError):
    condition = "permission denied"


_MACHINE_ERRNOS: dict[int, type[MachineError]] = {
    errno.ENOSPC: DiskFullError,
    errno.EDQUOT: DiskFullError,
    errno.EFBIG: DiskFullError,
    errno.EROFS: ReadOnlyFilesystemError,
    errno.EACCES: PermissionDeniedError,
    errno.EPERM: PermissionDeniedError,
}


def machine_error(exc: OSError, path: str | Path | None, doing: str, way_out: str = "") -> MachineError | None:
    """The :class:`MachineError` an ``OSError`` stands for, or None when it is something else.

    Callers re-raise it ``from exc``; an ``OSError`` that is not the machine's condition (a
    reset connection, a missing file) stays what it is.
    """
    cls = _MACHINE_ERRNOS.get(exc.errno or 0)
    if cls is None:
        return None
    return cls(path if path is not None else (exc.filename or "?"), doing, way_out)
