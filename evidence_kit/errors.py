"""One error hierarchy. Each error knows its exit code and explains itself in one line.

Exit codes (DESIGN.md): 0 all good; 1 a check or login failed (the run itself worked);
2 bad input or usage. The CLI maps an :class:`EvidenceKitError` to ``exit_code`` in one place.
"""

from __future__ import annotations

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


class KeyError_(EvidenceKitError):
    """A key file is unreadable or of an unknown kind."""


class WrongKeyError(EvidenceKitError):
    """The identity given cannot open this archive."""


class ArchiveError(EvidenceKitError):
    """The archive is unusable as input (not found, not age, unsafe member...)."""


class CheckFailed(EvidenceKitError):
    """The run worked but evidence failed a check, or a login failed."""

    exit_code = EXIT_CHECK_FAILED
