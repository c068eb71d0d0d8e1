"""The web driver: one browser for the run, one fresh context per target.

Threads: the capture orchestrator calls :meth:`WebDriver.capture` from up to ``--concurrency``
worker threads. Playwright objects belong to one event loop, so the driver runs one thread
with an asyncio loop, the async Playwright API and one browser (relaunched if it dies); each
``capture`` submits its target's login (login.py) to that loop and waits for its
:class:`Ending`. Every target gets a fresh, isolated browser context.

A stopped run (Ctrl-C, SIGTERM) cancels each running target's coroutine on that loop through the
session's cancel hook: the step it waits in ends at once, the login's clean-up (failure screenshot,
trace, video, context) still runs, and the orchestrator records the target as interrupted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import tempfile
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from evidence_kit.browser import (
    BrowserChoice,
    VideoSupport,
    driver_environment,
    find_browser,
    launch_kwargs,
    prepare_video_support,
)
from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import Driver, Ending, RunOptions
from evidence_kit.drivers.web.login import TargetLogin
from evidence_kit.drivers.web.state import TargetConfig, WebJob
from evidence_kit.errors import BrowserNotFoundError
from evidence_kit.profiles.web import WebProfile, WebTarget


class WebDriver(Driver[WebTarget, WebProfile]):
    """Captures web targets; satisfies :class:`~evidence_kit.drivers.web.state.RunResources`."""

    @classmethod
    def preflight(cls, options: RunOptions) -> None:
        find_browser(options.browser_path)
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            raise BrowserNotFoundError("the Python package 'playwright' is not installed (pip install playwright)")

    def __init__(self, options: RunOptions) -> None:
        super().__init__(options)
        self.choice: BrowserChoice = find_browser(options.browser_path)
        self.video: VideoSupport = prepare_video_support()
        self.tmp = Path(tempfile.mkdtemp(prefix="evidence-kit-web-"))  # 0700: raw traces live here briefly
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="evidence-kit-web", daemon=True)
        self._thread.start()
        self._pw: Any = None
        self._browser: Any = None
        self._launches = 0
        self._alock: asyncio.Lock | None = None
        self.pause_lock = threading.Lock()
        self._closed = False

    # --- run-wide browser -------------------------------------------------------------------

    async def browser(self) -> Any:
        """The run's browser, started on first use and relaunched if it crashed."""
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            if self._pw is None:
                from playwright.async_api import async_playwright  # lazy: heavy

                env = {"PLAYWRIGHT_BROWSERS_PATH": self.video.browsers_path} if self.video.browsers_path else {}
                with driver_environment(env):
                    self._pw = await async_playwright().start()
            if self._browser is None or not self._browser.is_connected():
                self._browser = await self._pw.chromium.launch(
                    **launch_kwargs(self.choice, headless=not self.options.headed)
                )
                self._launches += 1
            return self._browser

    @property
    def launches(self) -> int:
        return self._launches

    def capture(self, job: WebJob) -> Ending:
        if self._closed:
            raise RuntimeError("web driver is closed")
        login = TargetLogin(self, TargetConfig.for_job(job, self.options, self.tmp))
        task: asyncio.Future[Ending] | None = None

        async def run() -> Ending:
            nonlocal task
            task = asyncio.ensure_future(login.run())
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                # The run was stopped (Ctrl-C, SIGTERM): the login's own clean-up (failure
                # screenshot, trace, video, context) runs to its end before we answer.
                if not task.done():
                    await asyncio.wait([task])
                if task.cancelled():
                    return Ending(Outcome.ERROR, "the run was stopped during the web login")
                return task.result()

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)

        def cancel() -> None:  # from another thread: cancel the target's coroutine on the loop
            self.loop.call_soon_threadsafe(lambda: task.cancel() if task is not None else future.cancel())

        job.session.on_cancel(cancel)
        while True:  # never wait forever on a loop that a closing driver stopped
            try:
                ending: Ending = future.result(timeout=1.0)
                return ending
            except concurrent.futures.TimeoutError:
                if self._closed:
                    raise RuntimeError("the web driver closed while the target ran") from None
            except concurrent.futures.CancelledError:
                return Ending(Outcome.ERROR, "the run was stopped before the web login began")

    def submit(self, coro: Awaitable[Any]) -> Any:
        """Run a coroutine on the driver's loop and wait (tests use it to reach the browser)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()  # type: ignore[arg-type]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def shutdown() -> None:
            try:
                if self._browser is not None:
                    await self._browser.close()
            except Exception:  # noqa: S110 - closing a crashed browser may fail; nothing to keep
                pass
            try:
                if self._pw is not None:
                    await self._pw.stop()
            except Exception:  # noqa: S110
                pass

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self.loop.is_running():
                self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
