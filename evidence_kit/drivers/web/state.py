"""What one web target's login runs with, fixed before the browser opens.

A login's state is not one bag of fields every part may write: what never changes during a
login is one frozen :class:`TargetConfig`, and each piece of state that does change lives
with the one collaborator that changes it (evidence.py: what was shot, masked and navigated;
tls.py: what the server's certificate was; waits.py: the deadline; login.py: which steps the
technician did), so a reader knows who may touch what.

:class:`RunResources` is what a login borrows from the run's driver (driver.py), declared here
so the login modules need not import the driver: the imports run one way, driver → login →
collaborators → state.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evidence_kit.browser import BrowserChoice, VideoSupport
from evidence_kit.drivers.base import RunOptions, TargetJob
from evidence_kit.profiles.web import WebProfile, WebTarget

if TYPE_CHECKING:
    from evidence_kit.case.case import TargetSession

WebJob = TargetJob[WebTarget, WebProfile]

POLL = 0.1  # seconds between marker checks while waiting


class RunResources(Protocol):
    """The run-wide things a target's login uses: the one browser, video support, the terminal."""

    choice: BrowserChoice
    video: VideoSupport
    pause_lock: threading.Lock  # one question on the terminal at a time

    @property
    def launches(self) -> int: ...

    async def browser(self) -> Any: ...


@dataclass(frozen=True)
class TargetConfig:
    """One target's login settings: what the target, its profile and the run options decide."""

    job: WebJob
    options: RunOptions
    work: Path  # private folder for the raw trace and the video until they are stored

    @classmethod
    def for_job(cls, job: WebJob, options: RunOptions, tmp: Path) -> TargetConfig:
        """The config for ``job``, with its own work folder inside the driver's 0700 ``tmp``."""
        return cls(job, options, Path(tempfile.mkdtemp(prefix="t-", dir=tmp)))

    @property
    def target(self) -> WebTarget:
        return self.job.target

    @property
    def profile(self) -> WebProfile:
        return self.job.profile

    @property
    def session(self) -> TargetSession:
        return self.job.session

    @property
    def base_url(self) -> str:
        return self.target.url or self.profile.default_url or ""

    @property
    def step_timeout(self) -> float:
        return float(self.target.timeouts.step)

    @property
    def login_timeout(self) -> float:
        return float(self.target.timeouts.login)

    @property
    def want_video(self) -> bool:
        return self.profile.video and self.options.record_video

    @property
    def want_trace(self) -> bool:
        return self.options.record_trace

    @property
    def assisted(self) -> bool:
        # Assisted mode is --headed with a terminal to pause on. assist_headless keeps the
        # browser hidden but still pauses: enough for approvals done elsewhere (a phone push).
        return self.options.pause is not None and (self.options.headed or self.options.assist_headless)


def loop_time() -> float:
    """The driver loop's clock: deadlines and waits are measured on it."""
    return asyncio.get_running_loop().time()


async def journal(session: TargetSession, event: str, data: dict[str, Any]) -> None:
    """Journal from the driver's loop without blocking it (the journal fsyncs)."""
    await asyncio.to_thread(session.event, event, data)
