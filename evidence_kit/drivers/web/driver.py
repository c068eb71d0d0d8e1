"""Web capture: log into a web admin page with Playwright (Chromium) and journal the proof.

Threads: the capture orchestrator calls :meth:`WebDriver.capture` from up to ``--concurrency``
worker threads. Playwright objects belong to one event loop, so the driver runs one thread
with an asyncio loop, the async Playwright API and one browser; each ``capture`` submits a
coroutine for its target and waits. Every target gets a fresh, isolated browser context.

Per target: TLS chain + pin check (before anything is typed), the profile's steps (failure
markers watched while waiting), the success marker, limited/privileged markers, screenshots
(original + stamped copy), the navigation record, a scrubbed trace and a video.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from evidence_kit.browser import (
    BrowserChoice,
    VideoSupport,
    driver_environment,
    find_browser,
    launch_kwargs,
    prepare_video_support,
)
from evidence_kit.case.journal import utc_now
from evidence_kit.case.outcome import Outcome
from evidence_kit.case.screenshots import add_screenshot
from evidence_kit.drivers.base import Driver, Ending, RunOptions, TargetEnded, TargetJob, end
from evidence_kit.errors import BrowserNotFoundError
from evidence_kit.profiles.web import (
    ClickStep,
    Condition,
    FillStep,
    GotoStep,
    HttpAuthStep,
    ManualStep,
    Marker,
    PressStep,
    ScreenshotStep,
    TotpStep,
    WaitStep,
    WebProfile,
    WebTarget,
)
from evidence_kit.tlsinfo import TlsInfo, cert_sha256, check_pin, fetch_chain
from evidence_kit.tlstrust import judge

POLL = 0.1  # seconds between marker checks while waiting
LIMITED_WORDS = ("limited", "user", "read-only", "readonly", "operator")
NET_UNREACHABLE = re.compile(
    r"net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|NAME_NOT_RESOLVED|ADDRESS_UNREACHABLE|"
    r"CONNECTION_TIMED_OUT|TIMED_OUT|INTERNET_DISCONNECTED|EMPTY_RESPONSE|SSL_PROTOCOL_ERROR|"
    r"NETWORK_ACCESS_DENIED|ADDRESS_INVALID)"
)
NET_CERT = re.compile(r"net::ERR_CERT_[A-Z_]+")
CLOSED = re.compile(r"(?i)(has been closed|browser.*(closed|disconnected)|crash|Connection closed)")


def totp_now(seed_value: str) -> tuple[str, str, float]:
    """(code, bare seed, seconds the code stays valid) for a base32 seed or an otpauth:// URI."""
    import pyotp  # lazy

    value = seed_value.strip()
    if value.lower().startswith("otpauth://"):
        otp = pyotp.parse_uri(value)
        if not isinstance(otp, pyotp.TOTP):
            raise ValueError("otpauth URI is not a TOTP (time-based) one")
        seed = otp.secret
    else:
        seed = re.sub(r"\s+", "", value).upper()
        otp = pyotp.TOTP(seed)
    now = time.time()
    left = otp.interval - (now % otp.interval)
    return otp.at(now), seed, left


WebJob = TargetJob[WebTarget, WebProfile]


class WebDriver(Driver[WebTarget, WebProfile]):
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
        future = asyncio.run_coroutine_threadsafe(_TargetRun(self, job).run(), self.loop)
        ending: Ending = future.result()
        return ending

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


@dataclass
class _Shot:
    seq: int
    label: str


@dataclass
class _Nav:
    url: str
    status: int
    server: dict[str, Any] | None
    security: dict[str, Any] | None
    time: str


@dataclass
class _TargetRun:
    """One target's login. Lives on the driver's loop."""

    driver: WebDriver
    job: WebJob
    context: Any = None
    page: Any = None
    seq: int = 0
    secret_targets: list[tuple[str | None, str]] = field(default_factory=list)  # (frame, selector) filled
    frames: set[str] = field(default_factory=set)
    navs: list[_Nav] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    tls: TlsInfo | None = None
    browser_leaf: str | None = None
    manual_steps: list[int] = field(default_factory=list)
    deadline: float = 0.0
    typed_secret: bool = False
    shots: list[_Shot] = field(default_factory=list)
    cdp: Any = None
    after_submit_pending: bool = False
    after_submit_done: bool = False

    def __post_init__(self) -> None:
        self.profile = self.job.profile
        self.target = self.job.target
        self.session = self.job.session
        self.options = self.driver.options
        self.step_timeout = float(self.target.timeouts.step)
        self.work = Path(tempfile.mkdtemp(prefix="t-", dir=self.driver.tmp))

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

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    # --- entry ------------------------------------------------------------------------------

    async def run(self) -> Ending:
        outcome, detail = Outcome.ERROR, ""
        try:
            outcome, detail = await self.login()
        except TargetEnded as ended:
            outcome, detail = ended.ending.outcome, ended.ending.detail
        except Exception as exc:  # a crash is evidence too; the run goes on
            outcome, detail = self.classify(exc)
            if outcome is not Outcome.ERROR or not CLOSED.search(str(exc)):
                await self.screenshot("failure", quiet=True)
        finally:
            try:
                await self.wrap_up()
            finally:
                shutil.rmtree(self.work, ignore_errors=True)
        data: dict[str, Any] = {}
        if self.manual_steps:
            data["manual_steps"] = self.manual_steps
        return Ending(outcome, detail, data)

    def classify(self, exc: BaseException) -> tuple[Outcome, str]:
        text = f"{type(exc).__name__}: {exc}".splitlines()[0][:400]
        if "Timeout" in type(exc).__name__:
            return Outcome.TIMEOUT, text
        if m := NET_CERT.search(str(exc)):
            return Outcome.CERTIFICATE_MISMATCH, f"browser refused the certificate ({m.group(0)})"
        if m := NET_UNREACHABLE.search(str(exc)):
            return Outcome.UNREACHABLE, f"{m.group(0)} loading {self.base_url}"
        if CLOSED.search(str(exc)):
            return Outcome.ERROR, f"browser closed or crashed during the login ({text})"
        return Outcome.ERROR, text

    async def journal(self, event: str, data: dict[str, Any]) -> None:
        await asyncio.to_thread(self.session.event, event, data)

    # --- login ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.target.url or self.profile.default_url or ""

    async def login(self) -> tuple[Outcome, str]:
        if not self.base_url:
            return Outcome.ERROR, f"no url: the target gives none and profile '{self.profile.name}' has no default_url"
        self.deadline = self.now() + float(self.target.timeouts.login)
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if parts.scheme == "https":
            early = await self.check_tls(host, port)
            if early is not None:
                return early
        elif self.target.certificate:
            return Outcome.CERTIFICATE_MISMATCH, "a certificate is pinned but the URL is plain http"
        else:
            await self.journal("tls", {"scheme": "http", "note": "plain HTTP: no TLS, the server is not authenticated"})

        await self.open_context()
        goto_done = False
        skip_rest = ""
        for index, step in enumerate(self.profile.steps):
            if skip_rest:
                await self.journal("step", {"index": index, "action": step.action, "result": skip_rest})
                continue
            started = time.monotonic()
            result = await self.do_step(index, step)
            info: dict[str, Any] = {
                "index": index, "action": step.action, "name": step.name, "result": result,
                "elapsed_ms": round((time.monotonic() - started) * 1000),
            }
            for key in ("selector", "frame", "field", "key"):
                if getattr(step, key, None):
                    info[key] = getattr(step, key)
            if isinstance(step, GotoStep):
                info["url"] = self.page.url
            if result in ("manual", "manual_after_timeout"):
                info["manual"] = True
                self.manual_steps.append(index)
            await self.journal("step", info)
            if isinstance(step, GotoStep) and not goto_done:
                goto_done = True
                await self.after_first_goto()
            if result == "manual_after_timeout":
                skip_rest = "skipped_after_manual"  # the technician finished the login by hand
            if result == "success_early":
                skip_rest = "skipped_after_success"  # success showed while waiting for an optional step

        return await self.conclude()

    async def check_tls(self, host: str, port: int) -> tuple[Outcome, str] | None:
        try:
            info = await asyncio.to_thread(fetch_chain, host, port, None, float(self.target.timeouts.connect))
        except TimeoutError:
            return Outcome.UNREACHABLE, f"TLS connect to {host}:{port} timed out"
        except ssl.SSLError as exc:
            return Outcome.ERROR, f"TLS handshake with {host}:{port} failed: {exc.reason or exc}"
        except OSError as exc:
            return Outcome.UNREACHABLE, f"cannot connect to {host}:{port}: {exc.strerror or exc}"
        self.tls = info
        record = info.record()
        # One trust decision for every TLS driver (web, LDAP): pin, system trust, or allowance.
        decision = judge(info, self.target.certificate, self.target.allow_self_signed)
        pin = check_pin(info, self.target.certificate)
        record["pinned"] = pin.pinned
        record["pin_ok"] = pin.ok if pin.pinned else None
        record["trust"] = decision.as_dict()
        await asyncio.to_thread(
            self.session.add_artifact, "certificate-chain.pem", info.chain_pem(), "certificate_chain",
            "application/x-pem-file", False, leaf_sha256=info.leaf_sha256,
        )
        await self.journal("tls", record)
        self.session.set_identity(
            tls_leaf_sha256=info.leaf_sha256, tls_subject=record["chain"][0]["subject"] if record["chain"] else "",
            tls_issuer=record["chain"][0]["issuer"] if record["chain"] else "", tls_verified=info.verified,
            server_ip=info.peer_ip, server_port=info.peer_port,
        )
        if not decision.accepted:
            return Outcome.CERTIFICATE_MISMATCH, f"{decision.reason}; nothing was typed"
        return None

    async def open_context(self) -> None:
        browser = await self.driver.browser()
        kwargs: dict[str, Any] = {
            "viewport": {"width": self.profile.viewport.width, "height": self.profile.viewport.height},
            # The chain was checked (pin / allowance) above; the browser must not refuse it again.
            "ignore_https_errors": bool(
                self.tls is not None and (self.target.allow_self_signed or self.target.certificate)
            ),
            "service_workers": "block",
            "accept_downloads": False,
            "locale": "en-US",
            "timezone_id": "UTC",
        }
        auth = next((s for s in self.profile.steps if isinstance(s, HttpAuthStep)), None)
        if auth is not None:
            user = self.value_of(auth.username_field, secret_ok=True)
            password = self.value_of(auth.password_field, secret_ok=True)
            origin = auth.origin or "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
            kwargs["http_credentials"] = {
                "username": user, "password": password, "origin": origin, "send": "unauthorized",
            }
            self.typed_secret = True
        if self.want_video and self.driver.video.available:
            kwargs["record_video_dir"] = str(self.work / "video")
            # Scaled down to fit 800x800 (Playwright's default): VP8 encoding is the costliest part
            # of a capture on a small machine, and the full-size proof is in the screenshots.
            vp = self.profile.viewport
            scale = min(1.0, 800 / max(vp.width, vp.height))
            kwargs["record_video_size"] = {"width": int(vp.width * scale) // 2 * 2,
                                           "height": int(vp.height * scale) // 2 * 2}
        self.context = await browser.new_context(**kwargs)
        self.context.set_default_timeout(self.step_timeout * 1000)
        if self.want_trace:
            await self.context.tracing.start(screenshots=True, snapshots=True, sources=False, title=self.target.name)
        self.page = await self.context.new_page()
        self.page.on("response", self.on_response)
        if self.tls is not None:
            # Chromium only hands out the certificates of connections it saw with Network enabled.
            try:
                self.cdp = await self.context.new_cdp_session(self.page)
                await self.cdp.send("Network.enable")
            except Exception:
                self.cdp = None
        await self.journal("browser", {
            "browser": self.driver.choice.describe(), "version": browser.version, "launch": self.driver.launches,
            "headless": not self.options.headed, "isolated_context": True,
            "video": self.driver.video.note if self.want_video else "disabled",
            "trace": self.want_trace,
        })

    def on_response(self, response: Any) -> None:
        try:
            if response.request.resource_type == "document" and response.frame == self.page.main_frame:
                self.responses.append(response)
        except Exception:  # noqa: S110 - a response of a closing page; nothing to record
            pass

    async def after_first_goto(self) -> None:
        """Cross-check the certificate the browser itself got with the one we pinned/recorded."""
        if self.tls is None:
            return
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.page.url or self.base_url))
        try:
            if self.cdp is None:
                raise RuntimeError("no CDP session")
            got = await self.cdp.send("Network.getCertificate", {"origin": origin})
            await self.cdp.detach()
            self.cdp = None
            names = got.get("tableNames") or []
        except Exception as exc:
            await self.journal("tls_browser", {"origin": origin, "available": False, "reason": type(exc).__name__})
            return
        if not names:
            await self.journal("tls_browser", {"origin": origin, "available": False, "reason": "no certificate"})
            return
        self.browser_leaf = cert_sha256(base64.b64decode(names[0]))
        same = self.browser_leaf == self.tls.leaf_sha256
        await self.journal("tls_browser", {
            "origin": origin, "available": True, "leaf_sha256": self.browser_leaf,
            "same_as_handshake": same, "chain_length": len(names),
        })
        pin = check_pin(self.browser_leaf, self.target.certificate)
        if not pin.ok or (not same and self.target.certificate):
            end(Outcome.CERTIFICATE_MISMATCH, "browser saw another certificate: " + pin.describe()
                          + "; nothing was typed")

    # --- steps ------------------------------------------------------------------------------

    def scope(self, frame: str | None) -> Any:
        return self.page.frame_locator(frame) if frame else self.page

    def value_of(self, name: str, secret_ok: bool) -> str:
        secret = self.job.session.secret(name)
        if secret is not None:
            return secret.reveal()
        if name == "username" and self.target.username is not None:
            return self.target.username
        end(
            Outcome.ERROR, f"profile '{self.profile.name}' types field '{name}' but the target has no '{name}'"
        )

    async def fresh_code(self, field_name: str) -> str:
        secret = self.job.session.secret(field_name)
        if secret is None:
            end(Outcome.ERROR, f"no '{field_name}' seed")
        try:
            code, seed, left = totp_now(secret.reveal())
            if left < 3:  # too close to the end of its window: take the next code
                await asyncio.sleep(left + 0.2)
                code, seed, left = totp_now(secret.reveal())
        except Exception as exc:
            end(Outcome.ERROR, f"field '{field_name}': not a usable TOTP seed ({type(exc).__name__})")
        # Known to the redactor before anything could record it.
        for value in (seed, code):
            self.session.add_secret(value)
        return code

    async def render_template(self, template: str) -> str:
        out = template
        for name, optional in set(re.findall(r"{(\w+)(\??)}", template)):
            source = "totp" if name == "totp_code" else name
            missing = self.job.session.secret(source) is None
            if optional and missing and not (source == "username" and self.target.username):
                value = ""
            elif name == "totp_code":
                value = await self.fresh_code("totp")
            else:
                value = self.value_of(name, True)
            out = out.replace("{" + name + optional + "}", value)
        return out

    async def hide_typed(self, loc: Any) -> None:
        # Password inputs show dots; for any other input holding a secret (a code, a token),
        # make the browser draw dots too, so video and trace screencasts never show it.
        try:
            await loc.evaluate("el => el.style.setProperty('-webkit-text-security', 'disc', 'important')")
        except Exception:  # noqa: S110 - cosmetic; the screenshot masks cover it as well
            pass

    async def do_step(self, index: int, step: Any) -> str:
        timeout = float(step.timeout or self.step_timeout)
        if isinstance(step, HttpAuthStep):
            return "configured"
        if isinstance(step, GotoStep):
            url = self.base_url
            if step.url != "{url}":
                url = urljoin(self.base_url, step.url.replace("{url}", self.base_url))
            await self.page.goto(url, wait_until=step.wait_until, timeout=timeout * 1000)
            if index == next(i for i, s in enumerate(self.profile.steps) if isinstance(s, GotoStep)):
                await self.screenshot("login-page")
            return "done"
        if isinstance(step, ScreenshotStep):
            await self.screenshot(step.name or f"step-{index}", full_page=step.full_page, extra_masks=step.mask)
            return "done"
        if isinstance(step, ManualStep):
            return await self.manual(index, step)
        if isinstance(step, WaitStep):
            return await self.wait_step(index, step, timeout)
        if isinstance(step, FillStep | ClickStep | PressStep | TotpStep):
            if step.frame:
                self.frames.add(step.frame)
            if isinstance(step, TotpStep) and self.job.session.secret(step.field) is None:
                return await self.no_seed(index, step, timeout)
            state = await self.wait_for(self.element_condition(step), timeout, watch_success=step.optional,
                                        skip_when=step.skip_when if step.optional else None)
            if state != "ok":
                return await self.not_there(index, step, state, timeout)
            loc = self.scope(step.frame).locator(step.selector).first
            if isinstance(step, FillStep):
                if step.text is not None:
                    await loc.fill(step.text)
                    return "done"
                is_secret = (step.template is not None or step.field != "username"
                             or bool(self.job.session.secret("username")))
                if step.template:
                    value = await self.render_template(step.template)
                else:
                    value = self.value_of(str(step.field), True)
                if is_secret:
                    await self.before_secret()
                    await self.hide_typed(loc)
                    self.secret_targets.append((step.frame, step.selector))
                await loc.fill(value)
                return "done"
            if isinstance(step, TotpStep):
                await self.before_secret()
                code = await self.fresh_code(step.field)
                await self.hide_typed(loc)
                self.secret_targets.append((step.frame, step.selector))
                await loc.fill(code)
                return "done"
            if isinstance(step, PressStep):
                await loc.press(step.key)
            else:
                await loc.click()
            if self.typed_secret and not self.after_submit_done:
                # Shot at the first moment the page is stable after the submit (see wait_for):
                # shooting during the navigation a submit starts only waits or fails.
                self.after_submit_pending = True
                await self.shoot_after_submit()
            return "done"
        end(Outcome.ERROR, f"unknown step {step!r}")  # pragma: no cover - the model forbids it

    async def before_secret(self) -> None:
        """The last moment to refuse: no secret is typed into an unconfirmed server."""
        if self.tls is not None:
            pin = check_pin(self.browser_leaf or self.tls.leaf_sha256, self.target.certificate)
            if not pin.ok:
                end(Outcome.CERTIFICATE_MISMATCH, pin.describe() + "; nothing was typed")
        self.typed_secret = True

    async def shoot_after_submit(self) -> None:
        if not self.after_submit_pending:
            return
        if await self.screenshot("after-submit", quiet=True, retry=False):
            self.after_submit_pending = False
            self.after_submit_done = True

    def element_condition(self, step: Any) -> Condition:
        return Condition(selector=step.selector, frame=step.frame, state="visible")

    async def no_seed(self, index: int, step: TotpStep, timeout: float) -> str:
        """A code is asked for but the target has no seed: mfa_required (or the technician types it)."""
        state = await self.wait_for(self.element_condition(step), timeout if not step.optional else min(timeout, 10),
                                    watch_success=True, skip_when=step.skip_when)
        if state in ("success", "timeout", "skip") and step.optional:
            return "success_early" if state == "success" else "skipped"
        if state == "ok" and self.assisted:
            await self.pause(f"{self.target.name}: enter the one-time code by hand in the browser, then press Enter")
            return "manual_after_timeout"
        if state == "ok":
            await self.screenshot("mfa-required")
            end(Outcome.MFA_REQUIRED, f"the page asks for a one-time code ({step.selector}) "
                                                f"and the target has no '{step.field}' seed")
        return await self.not_there(index, step, state, timeout)

    async def not_there(self, index: int, step: Any, state: str, timeout: float) -> str:
        if state == "success":
            return "success_early"
        if step.optional or state == "skip":
            return "skipped"
        if self.assisted:
            await self.pause(
                f"{self.target.name}: step {index + 1} ({step.action} {getattr(step, 'selector', '')}) "
                f"did not complete "
                f"within {timeout:g}s. Finish the login by hand in the browser window, then press Enter"
            )
            return "manual_after_timeout"
        await self.screenshot("failure", quiet=True)
        end(Outcome.TIMEOUT, f"step {index + 1} ({step.action} {getattr(step, 'selector', '')}): "
                                       f"element not found within {timeout:g}s")

    async def wait_step(self, index: int, step: WaitStep, timeout: float) -> str:
        if step.seconds:
            await asyncio.sleep(step.seconds)
        if step.load_state:
            await self.page.wait_for_load_state(step.load_state, timeout=timeout * 1000)
        cond = step.condition()
        if cond is None:
            return "done"
        if cond.frame:
            self.frames.add(cond.frame)
        state = await self.wait_for(cond, timeout, watch_success=step.optional,
                                    skip_when=step.skip_when if step.optional else None)
        if state == "ok":
            return "done"
        return await self.not_there(index, step, state, timeout)

    async def manual(self, index: int, step: ManualStep) -> str:
        if step.when is not None:
            # The page that needs a human (CAPTCHA, push) is there by now or not at all: look briefly.
            needed = await self.wait_for(step.when, min(float(step.timeout or 1.0), 10.0), watch_success=True)
            if needed != "ok":
                return "not_needed"
        if not self.assisted:
            await self.screenshot("manual-needed")
            end(Outcome(step.unattended_outcome),
                          f"step {index + 1} needs the technician: {step.message} (run capture --headed)")
        await self.pause(f"{self.target.name}: {step.message} — then press Enter")
        return "manual"

    async def pause(self, message: str) -> None:
        await self.screenshot("before-manual", quiet=True)
        started = self.now()
        await self.journal("manual", {"message": message, "waiting": True})

        def blocking() -> None:
            assert self.options.pause is not None
            with self.driver.pause_lock:  # one question on the terminal at a time
                self.options.pause(message)

        await asyncio.to_thread(blocking)
        waited = self.now() - started
        self.deadline += waited  # the technician's time is not the login's time
        await self.journal("manual", {"message": message, "waiting": False, "waited_s": round(waited, 1)})

    # --- markers ----------------------------------------------------------------------------

    async def holds(self, cond: Condition, cache: dict[str | None, str]) -> bool:
        page = self.page
        try:
            if cond.url and not re.search(cond.url, page.url):
                return False
            if cond.title and not re.search(cond.title, await page.title()):
                return False
            if cond.selector:
                loc = self.scope(cond.frame).locator(cond.selector).first
                if cond.state == "visible":
                    if not await loc.is_visible():
                        return False
                elif await loc.count() == 0:
                    return False
            if cond.text:
                if cond.frame not in cache:
                    if cond.frame:
                        body = self.page.frame_locator(cond.frame).locator("body")
                        cache[cond.frame] = await body.inner_text(timeout=500) if await body.count() else ""
                    else:
                        cache[None] = await page.evaluate("() => document.body ? document.body.innerText : ''")
                if not re.search(cond.text, cache[cond.frame]):
                    return False
            return True
        except Exception as exc:
            if CLOSED.search(str(exc)) and page.is_closed():
                raise
            return False  # mid-navigation: "execution context was destroyed" and the like

    async def failure_marker(self, cache: dict[str | None, str]) -> Marker | None:
        for marker in self.profile.failure:
            if await self.holds(marker, cache):
                return marker
        return None

    async def any_of(self, conds: list[Condition], cache: dict[str | None, str]) -> Condition | None:
        for cond in conds:
            if await self.holds(cond, cache):
                return cond
        return None

    async def wait_for(
        self, cond: Condition | None, timeout: float, watch_success: bool = False,
        skip_when: list[Condition] | None = None,
    ) -> str:
        """Poll until ``cond`` holds ("ok"), a failure marker shows (raises StepEnd), success
        shows ("success", only with ``watch_success``), a ``skip_when`` condition shows
        ("skip"), or time runs out ("timeout")."""
        end = min(self.now() + timeout, self.deadline)
        while True:
            await self.shoot_after_submit()
            cache: dict[str | None, str] = {}
            marker = await self.failure_marker(cache)
            if marker is not None:
                await self.fail_on(marker)
            if cond is not None and await self.holds(cond, cache):
                return "ok"
            if watch_success and await self.any_of(self.profile.success, cache):
                return "success"
            if skip_when and await self.any_of(skip_when, cache):
                return "skip"
            if self.now() >= end:
                return "timeout"
            await asyncio.sleep(POLL)

    async def fail_on(self, marker: Marker) -> None:
        text = await self.marker_text(marker)
        await self.screenshot("failure")
        detail = marker.message or f"failure marker: {marker.describe()}"
        if text:
            detail += f" (page says: {text})"
        end(Outcome(marker.outcome), detail)

    async def marker_text(self, marker: Marker) -> str:
        try:
            if marker.selector:
                loc = self.scope(marker.frame).locator(marker.selector).first
                return " ".join((await loc.inner_text(timeout=1000)).split())[:300]
            if marker.text:
                body = await self.page.evaluate("() => document.body ? document.body.innerText : ''")
                m = re.search(marker.text, body)
                return m.group(0)[:300] if m else ""
        except Exception:  # noqa: S110 - the text is a courtesy; the screenshot has it anyway
            pass
        return ""

    async def conclude(self) -> tuple[Outcome, str]:
        remaining = max(self.deadline - self.now(), 1.0)
        state = await self.wait_for(None, remaining, watch_success=True)
        if state != "success" and self.assisted:
            await self.pause(f"{self.target.name}: the success marker did not show. "
                             "Finish the login by hand, then press Enter")
            self.manual_steps.append(len(self.profile.steps))
            state = await self.wait_for(None, 10.0, watch_success=True)
        if state != "success":
            await self.screenshot("failure", quiet=True)
            wanted = " or ".join(c.describe() for c in self.profile.success)
            return Outcome.TIMEOUT, f"success marker not seen within {float(self.target.timeouts.login):g}s ({wanted})"
        outcome, detail = await self.privilege()
        await self.screenshot("success")
        await self.record_navigation()
        return outcome, detail

    async def privilege(self) -> tuple[Outcome, str]:
        end = self.now() + self.profile.settle
        while True:
            cache: dict[str | None, str] = {}
            limited = await self.any_of(self.profile.limited, cache)
            if limited is not None:
                expected = (self.target.expected or "").lower()
                if expected and any(w in expected for w in LIMITED_WORDS):
                    return Outcome.LOGIN_OK, f"logged in; limited access, as the target expects ({limited.describe()})"
                return Outcome.LOGIN_LIMITED, f"logged in without admin rights ({limited.describe()})"
            if await self.any_of(self.profile.privileged, cache) is not None:
                return Outcome.LOGIN_OK, "logged in with admin rights"
            if self.now() >= end:
                return Outcome.LOGIN_OK, "logged in: success marker present"
            await asyncio.sleep(POLL)

    # --- evidence ---------------------------------------------------------------------------

    def masks(self, extra: list[str]) -> list[Any]:
        page = self.page
        out = [page.locator("input[type=password]")]
        out += [self.page.frame_locator(f).locator("input[type=password]") for f in sorted(self.frames)]
        out += [page.locator(s) for s in [*self.profile.masks, *extra]]
        out += [self.scope(f).locator(s) for f, s in self.secret_targets]
        return out

    async def screenshot(self, label: str, full_page: bool = False, extra_masks: list[str] | None = None,
                         quiet: bool = False, retry: bool = True) -> bool:
        if self.page is None:
            return False
        if label in ("success", "failure", "mfa-required", "manual-needed") and self.after_submit_pending:
            await self.shoot_after_submit()
        try:
            try:
                png = await self.page.screenshot(
                    full_page=full_page, mask=self.masks(extra_masks or []), animations="disabled",
                    timeout=10_000 if retry else 3_000,
                )
            except Exception as exc:
                if "context was destroyed" not in str(exc) or not retry:
                    raise
                # The page navigated under us (a login redirect): shoot the page it went to.
                await self.page.wait_for_load_state("domcontentloaded", timeout=5000)
                png = await self.page.screenshot(
                    full_page=full_page, mask=self.masks(extra_masks or []), animations="disabled", timeout=10_000,
                )
            url = self.session.redactor.redact_text(self.page.url)
        except Exception as exc:
            if not quiet:
                reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                await self.journal("screenshot_failed", {"label": label, "reason": reason})
            return False
        self.seq += 1
        self.shots.append(_Shot(self.seq, label))
        await asyncio.to_thread(add_screenshot, self.session, png, label, url, self.seq)
        return True

    async def record_navigation(self) -> None:
        if self.page is None or self.page.is_closed():
            return
        for resp in self.responses[-20:]:
            try:
                server = await resp.server_addr()
                security = await resp.security_details()
            except Exception:
                server, security = None, None
            self.navs.append(_Nav(resp.url, resp.status, server, security, utc_now()))
        self.responses = []
        last = self.navs[-1] if self.navs else None
        try:
            title = await self.page.title()
        except Exception:
            title = ""
        record: dict[str, Any] = {
            "final_url": self.page.url, "title": title,
            "status": last.status if last else None,
            "server": last.server if last else None,
            "tls": {
                "browser": last.security if last else None,
                "handshake": self.tls.record() if self.tls else None,
                "browser_leaf_sha256": self.browser_leaf,
            } if self.tls else None,
            "documents": [n.__dict__ for n in self.navs],
        }
        data = self.session.redactor.redact_obj(record)
        await asyncio.to_thread(
            self.session.add_artifact, "navigation.json", json.dumps(data, indent=2, sort_keys=True).encode(),
            "navigation", "application/json",
        )
        await self.journal("navigation", {k: data[k] for k in ("final_url", "title", "status", "server")})
        self.session.set_identity(final_url=data["final_url"], title=title,
                                  **({"server_ip": last.server.get("ipAddress"), "server_port": last.server.get("port")}
                                     if last and last.server else {}))

    async def wrap_up(self) -> None:
        """Trace (scrubbed) and video into the case; the context closed either way."""
        if self.context is None:
            return
        if not self.navs:
            try:
                await self.record_navigation()
            except Exception:  # noqa: S110 - best effort after a failure
                pass
        raw = self.work / "trace.raw.zip"
        trace_error = None if self.want_trace else "trace disabled for this run (web_trace: false)"
        try:
            if self.want_trace:
                await self.context.tracing.stop(path=str(raw))
        except Exception as exc:
            trace_error = f"trace not written: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        video_path = None
        try:
            video = self.page.video if self.page is not None else None
            await self.context.close()
            if video is not None:
                video_path = Path(await video.path())
        except Exception as exc:
            await self.journal("video", {"recorded": False, "reason": f"{type(exc).__name__}"})
        if trace_error is None and raw.exists():
            await asyncio.to_thread(self.store_trace, raw)
        else:
            await self.journal("trace_dropped", {"reason": trace_error or "no trace file"})
        if video_path is not None and video_path.exists() and video_path.stat().st_size:
            await asyncio.to_thread(self.store_file, video_path, "session.webm", "video", "video/webm")
        elif not self.want_video:
            await self.journal("video", {"recorded": False, "reason": "video disabled (profile or web_video: false)"})
        elif not self.driver.video.available:
            await self.journal("video", {"recorded": False, "reason": self.driver.video.note})

    def store_trace(self, raw: Path) -> None:
        from evidence_kit.drivers.web.trace_scrub import scrub_trace

        clean = self.work / "trace.zip"
        try:
            result = scrub_trace(raw, clean, self.session.redaction_values())
        finally:
            raw.unlink(missing_ok=True)
        if result.kept:
            self.store_file(clean, "trace.zip", "trace", "application/zip", scrub=result.record())
            clean.unlink(missing_ok=True)
        else:
            self.session.event("trace_dropped", {"reason": result.reason, "scrub": result.record()})

    def store_file(self, path: Path, name: str, kind: str, media_type: str, **meta: Any) -> None:
        with self.session.artifact(name, kind, media_type, redact=False, **meta) as w, open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                w.write(block)

