"""One web target's login, start to end: the certificate, a fresh browser context, the
profile's steps, the success marker and the privilege check, then the evidence wrapped up.

This is where the collaborators meet (tls.py, evidence.py, probes.py, waits.py, steps.py) and
where the login's one :class:`Ending` is made. Anything deeper ends the target with
``end(outcome, detail)``; an exception the page or the browser throws is classified here
(timeout, certificate refused, unreachable, browser gone) and leaves a failure screenshot
when the page can still be shot. The trace and the video are stored whichever way it ended.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from typing import Any
from urllib.parse import urlsplit

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import Ending, TargetEnded, end
from evidence_kit.drivers.web.evidence import EvidenceWriter
from evidence_kit.drivers.web.probes import CLOSED, PageProbes, TextCache
from evidence_kit.drivers.web.state import POLL, RunResources, TargetConfig, journal, loop_time
from evidence_kit.drivers.web.steps import StepRunner, http_credentials
from evidence_kit.drivers.web.tls import ServerCertificate
from evidence_kit.drivers.web.waits import Waiter
from evidence_kit.profiles.web import GotoStep
from evidence_kit.route.bridge import BrowserRoute

LIMITED_WORDS = ("limited", "user", "read-only", "readonly", "operator")
NET_UNREACHABLE = re.compile(
    r"net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|NAME_NOT_RESOLVED|ADDRESS_UNREACHABLE|"
    r"CONNECTION_TIMED_OUT|TIMED_OUT|INTERNET_DISCONNECTED|EMPTY_RESPONSE|SSL_PROTOCOL_ERROR|"
    r"NETWORK_ACCESS_DENIED|ADDRESS_INVALID)"
)
NET_CERT = re.compile(r"net::ERR_CERT_[A-Z_]+")


def classify(exc: BaseException, base_url: str) -> tuple[Outcome, str]:
    """The outcome an exception from the page or the browser means."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0][:400]
    if "Timeout" in type(exc).__name__:
        return Outcome.TIMEOUT, text
    if m := NET_CERT.search(str(exc)):
        return Outcome.CERTIFICATE_MISMATCH, f"browser refused the certificate ({m.group(0)})"
    if m := NET_UNREACHABLE.search(str(exc)):
        return Outcome.UNREACHABLE, f"{m.group(0)} loading {base_url}"
    if CLOSED.search(str(exc)):
        return Outcome.ERROR, f"browser closed or crashed during the login ({text})"
    return Outcome.ERROR, text


class TargetLogin:
    """One target's login on the driver's loop."""

    def __init__(self, resources: RunResources, config: TargetConfig) -> None:
        self.resources = resources
        self.config = config
        self.cert = ServerCertificate(config)
        self.evidence = EvidenceWriter(config, resources.video, self.cert)
        self.manual_steps: list[int] = []  # indexes of steps the technician did (len(steps): the end)
        self.route: BrowserRoute | None = None  # jump hosts / proxy (evidence_kit/route/bridge.py)

    async def run(self) -> Ending:
        outcome, detail = Outcome.ERROR, ""
        try:
            outcome, detail = await self.login()
        except TargetEnded as ended:
            outcome, detail = ended.ending.outcome, ended.ending.detail
        except Exception as exc:  # a crash is evidence too; the run goes on
            outcome, detail = classify(exc, self.config.base_url)
            if outcome is not Outcome.ERROR or not CLOSED.search(str(exc)):
                await self.evidence.screenshot("failure", quiet=True)
        finally:
            try:
                await self.evidence.wrap_up()
            finally:
                shutil.rmtree(self.config.work, ignore_errors=True)
                if self.route is not None:
                    await asyncio.to_thread(self.route.close)
        data: dict[str, Any] = {}
        if self.manual_steps:
            data["manual_steps"] = self.manual_steps
        return Ending(outcome, detail, data)

    async def login(self) -> tuple[Outcome, str]:
        cfg = self.config
        if not cfg.base_url:
            end(Outcome.ERROR, f"no url: the target gives none and profile '{cfg.profile.name}' has no default_url")
        deadline = loop_time() + cfg.login_timeout
        parts = urlsplit(cfg.base_url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.route = await asyncio.to_thread(BrowserRoute.open, cfg.session, cfg.target.route, cfg.target.timeouts,
                                             host, port)
        self.cert.route = self.route
        if parts.scheme == "https":
            await self.cert.handshake(host, port)
        elif cfg.target.certificate:
            end(Outcome.CERTIFICATE_MISMATCH, "a certificate is pinned but the URL is plain http")
        else:
            await journal(cfg.session, "tls",
                          {"scheme": "http", "note": "plain HTTP: no TLS, the server is not authenticated"})

        page = await self.open_context()
        probes = PageProbes(page, cfg.profile)
        waiter = Waiter(cfg, probes, self.evidence, self.resources.pause_lock, deadline)
        await self.run_steps(StepRunner(cfg, page, probes, self.evidence, self.cert, waiter))
        return await self.conclude(probes, waiter)

    async def open_context(self) -> Any:
        """A fresh, isolated browser context with its one page, recording as the run asks."""
        cfg, res = self.config, self.resources
        browser = await res.browser()
        kwargs: dict[str, Any] = {
            "viewport": {"width": cfg.profile.viewport.width, "height": cfg.profile.viewport.height},
            "ignore_https_errors": self.cert.browser_may_ignore_errors,
            "service_workers": "block",
            "accept_downloads": False,
            "locale": "en-US",
            "timezone_id": "UTC",
        }
        if self.route is not None:
            kwargs["proxy"] = self.route.proxy  # every connection of the context goes through the route
        credentials = http_credentials(cfg)
        if credentials is not None:
            kwargs["http_credentials"] = credentials
            self.evidence.note_secret_typed()
        if cfg.want_video and res.video.available:
            kwargs["record_video_dir"] = str(cfg.work / "video")
            # Scaled down to fit 800x800 (Playwright's default): VP8 encoding is the costliest part
            # of a capture on a small machine, and the full-size proof is in the screenshots.
            vp = cfg.profile.viewport
            scale = min(1.0, 800 / max(vp.width, vp.height))
            kwargs["record_video_size"] = {"width": int(vp.width * scale) // 2 * 2,
                                           "height": int(vp.height * scale) // 2 * 2}
        context = await browser.new_context(**kwargs)
        self.evidence.context = context
        context.set_default_timeout(cfg.step_timeout * 1000)
        if cfg.want_trace:
            await context.tracing.start(screenshots=True, snapshots=True, sources=False, title=cfg.target.name)
        page = await context.new_page()
        self.evidence.page = page
        page.on("response", self.evidence.on_response)
        await self.cert.watch(context, page)
        await journal(cfg.session, "browser", {
            "browser": res.choice.describe(), "version": browser.version, "launch": res.launches,
            "headless": not cfg.options.headed, "isolated_context": True,
            "video": res.video.note if cfg.want_video else "disabled",
            "trace": cfg.want_trace,
        })
        return page

    async def run_steps(self, steps: StepRunner) -> None:
        """Every profile step in order, each journaled with its result and how long it took."""
        cfg = self.config
        goto_done = False
        skip_rest = ""
        for index, step in enumerate(cfg.profile.steps):
            if skip_rest:
                await journal(cfg.session, "step", {"index": index, "action": step.action, "result": skip_rest})
                continue
            started = time.monotonic()
            result = await steps.run(index, step)
            info: dict[str, Any] = {
                "index": index, "action": step.action, "name": step.name, "result": result,
                "elapsed_ms": round((time.monotonic() - started) * 1000),
            }
            for key in ("selector", "frame", "field", "key"):
                if getattr(step, key, None):
                    info[key] = getattr(step, key)
            if isinstance(step, GotoStep):
                info["url"] = steps.page.url
            if result in ("manual", "manual_after_timeout"):
                info["manual"] = True
                self.manual_steps.append(index)
            await journal(cfg.session, "step", info)
            if isinstance(step, GotoStep) and not goto_done:
                goto_done = True
                await self.cert.after_first_goto(steps.page.url)
            if result == "manual_after_timeout":
                skip_rest = "skipped_after_manual"  # the technician finished the login by hand
            if result == "success_early":
                skip_rest = "skipped_after_success"  # success showed while waiting for an optional step

    async def conclude(self, probes: PageProbes, waiter: Waiter) -> tuple[Outcome, str]:
        """Wait for the success marker (the technician may finish by hand), then judge the rights."""
        cfg = self.config
        state = await waiter.wait_for(None, max(waiter.remaining(), 1.0), watch_success=True)
        if state != "success" and cfg.assisted:
            await waiter.pause(f"{cfg.target.name}: the success marker did not show. "
                               "Finish the login by hand, then press Enter")
            self.manual_steps.append(len(cfg.profile.steps))
            state = await waiter.wait_for(None, 10.0, watch_success=True)
        if state != "success":
            await self.evidence.screenshot("failure", quiet=True)
            wanted = " or ".join(c.describe() for c in cfg.profile.success)
            return Outcome.TIMEOUT, f"success marker not seen within {cfg.login_timeout:g}s ({wanted})"
        outcome, detail = await self.privilege(probes)
        await self.evidence.screenshot("success")
        await self.evidence.record_navigation()
        return outcome, detail

    async def privilege(self, probes: PageProbes) -> tuple[Outcome, str]:
        """Admin rights or not: ``limited`` markers watched for ``settle`` seconds after success."""
        cfg = self.config
        until = loop_time() + cfg.profile.settle
        while True:
            cache: TextCache = {}
            limited = await probes.any_of(cfg.profile.limited, cache)
            if limited is not None:
                expected = (cfg.target.expected or "").lower()
                if expected and any(w in expected for w in LIMITED_WORDS):
                    return Outcome.LOGIN_OK, f"logged in; limited access, as the target expects ({limited.describe()})"
                return Outcome.LOGIN_LIMITED, f"logged in without admin rights ({limited.describe()})"
            if await probes.any_of(cfg.profile.privileged, cache) is not None:
                return Outcome.LOGIN_OK, "logged in with admin rights"
            if loop_time() >= until:
                return Outcome.LOGIN_OK, "logged in: success marker present"
            await asyncio.sleep(POLL)
