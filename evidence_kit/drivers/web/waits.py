"""Waiting on the page, with the profile's failure markers watched the whole time, and the
technician's pauses in assisted mode.

Every wait of a login goes through :meth:`Waiter.wait_for`, so a "wrong password" page ends
the login at once with its marker's outcome whichever step was waiting, and the after-submit
shot is taken at the first poll where the page is stable. The waiter owns the login's
deadline: a pause for the technician pushes it back, because a human's time is not the
login's time.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Literal, NoReturn

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import end
from evidence_kit.drivers.web.evidence import EvidenceWriter
from evidence_kit.drivers.web.probes import PageProbes, TextCache
from evidence_kit.drivers.web.state import POLL, TargetConfig, journal, loop_time
from evidence_kit.profiles.web import Condition, Marker

WaitState = Literal["ok", "success", "skip", "timeout"]


class Waiter:
    """Polls one target's page until something decides the wait; keeps the login's deadline."""

    def __init__(self, config: TargetConfig, probes: PageProbes, evidence: EvidenceWriter,
                 pause_lock: threading.Lock, deadline: float) -> None:
        self.config = config
        self.probes = probes
        self.evidence = evidence
        self.pause_lock = pause_lock
        self.deadline = deadline  # loop time the whole login must be done by

    def remaining(self) -> float:
        return self.deadline - loop_time()

    async def wait_for(
        self, cond: Condition | None, timeout: float, watch_success: bool = False,
        skip_when: list[Condition] | None = None,
    ) -> WaitState:
        """Poll until ``cond`` holds ("ok"), a failure marker shows (ends the target), success
        shows ("success", only with ``watch_success``), a ``skip_when`` condition shows
        ("skip"), or time runs out ("timeout")."""
        until = min(loop_time() + timeout, self.deadline)
        probes = self.probes
        while True:
            await self.evidence.shoot_after_submit()
            cache: TextCache = {}
            marker = await probes.failure_marker(cache)
            if marker is not None:
                await self.fail_on(marker)
            if cond is not None and await probes.holds(cond, cache):
                return "ok"
            if watch_success and await probes.any_of(self.config.profile.success, cache):
                return "success"
            if skip_when and await probes.any_of(skip_when, cache):
                return "skip"
            if loop_time() >= until:
                return "timeout"
            await asyncio.sleep(POLL)

    async def fail_on(self, marker: Marker) -> NoReturn:
        """End the target with the marker's outcome, the page's own words in the detail."""
        text = await self.probes.marker_text(marker)
        await self.evidence.screenshot("failure")
        detail = marker.message or f"failure marker: {marker.describe()}"
        if text:
            detail += f" (page says: {text})"
        end(Outcome(marker.outcome), detail)

    async def pause(self, message: str) -> None:
        """Ask the technician (assisted mode) and wait; the wait does not count against the login."""
        cfg = self.config
        await self.evidence.screenshot("before-manual", quiet=True)
        started = loop_time()
        await journal(cfg.session, "manual", {"message": message, "waiting": True})

        def blocking() -> None:
            assert cfg.options.pause is not None
            with self.pause_lock:  # one question on the terminal at a time
                cfg.options.pause(message)

        await asyncio.to_thread(blocking)
        waited = loop_time() - started
        self.deadline += waited  # the technician's time is not the login's time
        await journal(cfg.session, "manual", {"message": message, "waiting": False, "waited_s": round(waited, 1)})
