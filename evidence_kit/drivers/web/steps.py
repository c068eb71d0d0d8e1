"""The step runner: one profile step at a time (goto, fill, click, press, wait, totp,
http_auth, screenshot, manual), each returning the result word the journal records.

Secrets come only from the session (``session.secret(field)``) at the moment they are typed;
a code or a seed's bare form learned here goes to ``session.add_secret`` before anything
could record it. Before a secret is typed the certificate is checked a last time (tls.py) and
the field is marked for masking (evidence.py). A step whose element never shows is handed to
the technician in assisted mode, skipped when optional, and otherwise ends the target.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import end
from evidence_kit.drivers.web.evidence import EvidenceWriter
from evidence_kit.drivers.web.probes import PageProbes
from evidence_kit.drivers.web.state import TargetConfig
from evidence_kit.drivers.web.tls import ServerCertificate
from evidence_kit.drivers.web.waits import Waiter, WaitState
from evidence_kit.profiles.web import (
    ClickStep,
    Condition,
    FillStep,
    GotoStep,
    HttpAuthStep,
    ManualStep,
    PressStep,
    ScreenshotStep,
    TotpStep,
    WaitStep,
)

ElementStep = FillStep | ClickStep | PressStep | TotpStep


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


def field_value(config: TargetConfig, name: str) -> str:
    """The value a profile types for field ``name``: the target's secret, or its plain username."""
    secret = config.session.secret(name)
    if secret is not None:
        return secret.reveal()
    if name == "username" and config.target.username is not None:
        return config.target.username
    end(Outcome.ERROR, f"profile '{config.profile.name}' types field '{name}' but the target has no '{name}'")


def http_credentials(config: TargetConfig) -> dict[str, str] | None:
    """The browser context's HTTP auth credentials when the profile has an ``http_auth`` step."""
    auth = next((s for s in config.profile.steps if isinstance(s, HttpAuthStep)), None)
    if auth is None:
        return None
    origin = auth.origin or "{0.scheme}://{0.netloc}".format(urlsplit(config.base_url))
    return {
        "username": field_value(config, auth.username_field), "password": field_value(config, auth.password_field),
        "origin": origin, "send": "unauthorized",
    }


class StepRunner:
    """Runs one target's profile steps on its page."""

    def __init__(self, config: TargetConfig, page: Any, probes: PageProbes, evidence: EvidenceWriter,
                 cert: ServerCertificate, waiter: Waiter) -> None:
        self.config = config
        self.page = page
        self.probes = probes
        self.evidence = evidence
        self.cert = cert
        self.waiter = waiter
        steps = config.profile.steps
        self.first_goto = next((i for i, s in enumerate(steps) if isinstance(s, GotoStep)), None)

    async def run(self, index: int, step: Any) -> str:
        """Do step ``index``; the result word: done, skipped, manual, success_early..."""
        timeout = float(step.timeout or self.config.step_timeout)
        if isinstance(step, HttpAuthStep):
            return "configured"  # the browser context got the credentials (login.py)
        if isinstance(step, GotoStep):
            return await self.goto(index, step, timeout)
        if isinstance(step, ScreenshotStep):
            await self.evidence.screenshot(step.name or f"step-{index}", full_page=step.full_page,
                                           extra_masks=step.mask)
            return "done"
        if isinstance(step, ManualStep):
            return await self.manual(index, step)
        if isinstance(step, WaitStep):
            return await self.wait_step(index, step, timeout)
        if isinstance(step, ElementStep):
            return await self.element_step(index, step, timeout)
        end(Outcome.ERROR, f"unknown step {step!r}")  # pragma: no cover - the model forbids it

    async def goto(self, index: int, step: GotoStep, timeout: float) -> str:
        base = self.config.base_url
        url = base
        if step.url != "{url}":
            url = urljoin(base, step.url.replace("{url}", base))
        await self.page.goto(url, wait_until=step.wait_until, timeout=timeout * 1000)
        if index == self.first_goto:
            await self.evidence.screenshot("login-page")
        return "done"

    async def element_step(self, index: int, step: ElementStep, timeout: float) -> str:
        session = self.config.session
        if step.frame:
            self.evidence.watch_frame(step.frame)
        if isinstance(step, TotpStep) and session.secret(step.field) is None:
            return await self.no_seed(index, step, timeout)
        state = await self.waiter.wait_for(element_condition(step), timeout, watch_success=step.optional,
                                           skip_when=step.skip_when if step.optional else None)
        if state != "ok":
            return await self.not_there(index, step, state, timeout)
        loc = self.probes.scope(step.frame).locator(step.selector).first
        if isinstance(step, FillStep):
            if step.text is not None:
                await loc.fill(step.text)
                return "done"
            is_secret = step.template is not None or step.field != "username" or bool(session.secret("username"))
            if step.template:
                value = await self.render_template(step.template)
            else:
                value = field_value(self.config, str(step.field))
            if is_secret:
                self.before_secret()
                await self.hide_typed(loc, step)
            await loc.fill(value)
            return "done"
        if isinstance(step, TotpStep):
            self.before_secret()
            code = await self.fresh_code(step.field)
            await self.hide_typed(loc, step)
            await loc.fill(code)
            return "done"
        if isinstance(step, PressStep):
            await loc.press(step.key)
        else:
            await loc.click()
        # Shot at the first moment the page is stable after the submit (see Waiter.wait_for):
        # shooting during the navigation a submit starts only waits or fails.
        self.evidence.note_submit()
        await self.evidence.shoot_after_submit()
        return "done"

    def before_secret(self) -> None:
        """The last moment to refuse: no secret is typed into an unconfirmed server."""
        self.cert.before_secret()
        self.evidence.note_secret_typed()

    async def hide_typed(self, loc: Any, step: FillStep | TotpStep) -> None:
        # Password inputs show dots; for any other input holding a secret (a code, a token),
        # make the browser draw dots too, so video and trace screencasts never show it.
        try:
            await loc.evaluate("el => el.style.setProperty('-webkit-text-security', 'disc', 'important')")
        except Exception:  # noqa: S110 - cosmetic; the screenshot masks cover it as well
            pass
        self.evidence.secret_typed_into(step.frame, step.selector)

    async def fresh_code(self, field_name: str) -> str:
        session = self.config.session
        secret = session.secret(field_name)
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
            session.add_secret(value)
        return code

    async def render_template(self, template: str) -> str:
        out = template
        session = self.config.session
        for name, optional in set(re.findall(r"{(\w+)(\??)}", template)):
            source = "totp" if name == "totp_code" else name
            missing = session.secret(source) is None
            if optional and missing and not (source == "username" and self.config.target.username):
                value = ""
            elif name == "totp_code":
                value = await self.fresh_code("totp")
            else:
                value = field_value(self.config, name)
            out = out.replace("{" + name + optional + "}", value)
        return out

    async def no_seed(self, index: int, step: TotpStep, timeout: float) -> str:
        """A code is asked for but the target has no seed: mfa_required (or the technician types it)."""
        state = await self.waiter.wait_for(element_condition(step), timeout if not step.optional else min(timeout, 10),
                                           watch_success=True, skip_when=step.skip_when)
        if state in ("success", "timeout", "skip") and step.optional:
            return "success_early" if state == "success" else "skipped"
        if state == "ok" and self.config.assisted:
            await self.waiter.pause(f"{self.config.target.name}: enter the one-time code by hand in the browser, "
                                    "then press Enter")
            return "manual_after_timeout"
        if state == "ok":
            await self.evidence.screenshot("mfa-required")
            end(Outcome.MFA_REQUIRED, f"the page asks for a one-time code ({step.selector}) "
                                      f"and the target has no '{step.field}' seed")
        return await self.not_there(index, step, state, timeout)

    async def not_there(self, index: int, step: Any, state: WaitState, timeout: float) -> str:
        if state == "success":
            return "success_early"
        if step.optional or state == "skip":
            return "skipped"
        what = f"step {index + 1} ({step.action} {getattr(step, 'selector', '')})"
        if self.config.assisted:
            await self.waiter.pause(
                f"{self.config.target.name}: {what} did not complete within {timeout:g}s. "
                "Finish the login by hand in the browser window, then press Enter"
            )
            return "manual_after_timeout"
        await self.evidence.screenshot("failure", quiet=True)
        end(Outcome.TIMEOUT, f"{what}: element not found within {timeout:g}s")

    async def wait_step(self, index: int, step: WaitStep, timeout: float) -> str:
        if step.seconds:
            await asyncio.sleep(step.seconds)
        if step.load_state:
            await self.page.wait_for_load_state(step.load_state, timeout=timeout * 1000)
        cond = step.condition()
        if cond is None:
            return "done"
        if cond.frame:
            self.evidence.watch_frame(cond.frame)
        state = await self.waiter.wait_for(cond, timeout, watch_success=step.optional,
                                           skip_when=step.skip_when if step.optional else None)
        if state == "ok":
            return "done"
        return await self.not_there(index, step, state, timeout)

    async def manual(self, index: int, step: ManualStep) -> str:
        cfg = self.config
        if step.when is not None:
            # The page that needs a human (CAPTCHA, push) is there by now or not at all: look briefly.
            needed = await self.waiter.wait_for(step.when, min(float(step.timeout or 1.0), 10.0), watch_success=True)
            if needed != "ok":
                return "not_needed"
        if not cfg.assisted:
            await self.evidence.screenshot("manual-needed")
            end(Outcome(step.unattended_outcome),
                f"step {index + 1} needs the technician: {step.message} (run capture --headed)")
        await self.waiter.pause(f"{cfg.target.name}: {step.message} — then press Enter")
        return "manual"


def element_condition(step: ElementStep) -> Condition:
    return Condition(selector=step.selector, frame=step.frame, state="visible")
