"""The one interface every capture driver implements.

A driver is created once per run and kind (so it can share a browser or a connection pool),
gets one :meth:`Driver.capture` call per target — possibly from several threads at once —
and is closed at the end of the run. ``capture`` must end the session with exactly one
outcome (``session.finish``); any exception it lets out ends the target as ``error`` and the
run goes on.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from evidence_kit.secrets import Secret

if TYPE_CHECKING:
    from evidence_kit.case.case import Case, TargetSession
    from evidence_kit.inventory import Target
    from evidence_kit.profiles.base import ProfileBase


@dataclass
class RunOptions:
    """Run-wide options that drivers read (from the CLI, the demo or a test)."""

    concurrency: int = 8
    headed: bool = False
    browser_path: str | None = None
    # Assisted mode: called with a message when a step needs the technician; returns when done.
    pause: Callable[[str], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TargetJob:
    """Everything a driver needs for one target."""

    target: Target
    profile: ProfileBase
    secrets: dict[str, Secret]  # field name -> resolved secret
    session: TargetSession
    case: Case

    def secret(self, field: str) -> Secret | None:
        return self.secrets.get(field)


class Driver(ABC):
    kind: ClassVar[str]

    def __init__(self, options: RunOptions) -> None:
        self.options = options

    @classmethod
    def preflight(cls, options: RunOptions) -> None:
        """Check run-wide prerequisites (a browser...) before anything is captured.

        Raise an :class:`~evidence_kit.errors.EvidenceKitError` to stop the run with exit 2.
        """

    @abstractmethod
    def capture(self, job: TargetJob) -> None:
        """Log into ``job.target``, journal the evidence and finish the session."""

    def close(self) -> None:
        """Release run-wide resources (browser, threads)."""


# kind -> (module, class); imported only when a run has a target of that kind.
DRIVERS: dict[str, tuple[str, str]] = {
    "ssh": ("evidence_kit.drivers.ssh", "SshDriver"),
    "web": ("evidence_kit.drivers.web", "WebDriver"),
    "directory": ("evidence_kit.drivers.directory", "DirectoryDriver"),
}


def driver_class(kind: str) -> type[Driver]:
    module, cls = DRIVERS[kind]
    return getattr(importlib.import_module(module), cls)
