"""The one contract every capture driver implements.

A driver is created once per run and kind (so it can share a browser or a connection pool),
gets one :meth:`Driver.capture` call per target — possibly from several threads at once — and
is closed at the end of the run.

``capture`` returns the target's :class:`Ending`. Deep inside a driver, where returning is
awkward, :func:`end` raises :class:`TargetEnded` instead; the orchestrator (capture.py) turns
either into the session's one outcome, and any other exception into ``error``. No driver calls
``session.finish``: the target ends exactly once, in one place.

Secrets are not part of the job: a driver asks the session (``job.session.secret("password")``),
which owns the target's secrets, their commitments and their redaction.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from evidence_kit.case.outcome import Outcome
from evidence_kit.errors import ProfileError
from evidence_kit.profiles.base import ProfileBase
from evidence_kit.profiles.target import TargetBase

if TYPE_CHECKING:
    from evidence_kit.case.case import Case
    from evidence_kit.case.session import TargetSession

T = TypeVar("T", bound=TargetBase)
P = TypeVar("P", bound=ProfileBase)


@dataclass(frozen=True)
class Ending:
    """How a target ended: its one outcome, the detail in words, extra facts for the journal."""

    outcome: Outcome
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class TargetEnded(Exception):
    """Raised inside a driver to end the target now with an outcome (see :func:`end`)."""

    def __init__(self, outcome: Outcome, detail: str, **data: Any) -> None:
        super().__init__(detail)
        self.ending = Ending(outcome, detail, MappingProxyType(dict(data)))


def end(outcome: Outcome, detail: str, **data: Any) -> NoReturn:
    """End the target with ``outcome`` from anywhere inside a driver."""
    raise TargetEnded(outcome, detail, **data)


@dataclass(frozen=True)
class RunOptions:
    """Run-wide options that drivers read (from the CLI, the demo or a test)."""

    concurrency: int = 8
    headed: bool = False
    browser_path: str | None = None
    # Assisted mode: called with a message when a step needs the technician; returns when done.
    pause: Callable[[str], None] | None = None
    # Assisted mode without a visible browser: pause for approvals done elsewhere (a phone push).
    assist_headless: bool = False
    # Evidence a driver records when it can (web: Playwright video and trace).
    record_video: bool = True
    record_trace: bool = True


@dataclass(frozen=True)
class TargetJob(Generic[T, P]):
    """Everything a driver needs for one target: typed by its kind's target and profile models."""

    target: T
    profile: P
    session: TargetSession
    case: Case


class Driver(ABC, Generic[T, P]):
    """Captures targets of one kind; ``T``/``P`` are that kind's target and profile models."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options

    @classmethod
    def preflight(cls, options: RunOptions) -> None:
        """Check run-wide prerequisites (a browser...) before anything is captured.

        Raise an :class:`~evidence_kit.errors.EvidenceKitError` to stop the run with exit 2.
        """

    @abstractmethod
    def capture(self, job: TargetJob[T, P]) -> Ending:
        """Log into ``job.target``, journal the evidence, and say how it ended."""

    def close(self) -> None:
        """Release run-wide resources (browser, threads)."""


def driver_class(profile: ProfileBase | type[ProfileBase]) -> type[Driver[Any, Any]]:
    """The driver a profile's kind names (``module:Class``), imported on first use."""
    spec = profile.driver
    module, _, name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ProfileError(spec, f"the capture driver cannot be loaded ({type(exc).__name__}: {exc})")
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise ProfileError(spec, "is not a capture driver")
    return cls
