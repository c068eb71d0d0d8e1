"""Web profiles: the steps that log into a web admin page, and the markers that prove it.

A profile is data. Steps run in order (``goto``, ``fill``, ``click``, ``press``, ``wait``,
``totp``, ``http_auth``, ``screenshot``, ``manual``); while any step waits, the profile's
``failure`` markers are watched too, so a "wrong password" page ends the login at once with
the outcome the marker names. ``success`` proves the login; ``limited`` (checked for
``settle`` seconds after success) turns it into ``login_limited``. Selectors are Playwright
selectors (CSS, ``text=...``, ``role=...``); ``frame`` names an iframe (a CSS selector of the
``<iframe>`` element) for pages that log in inside frames.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from evidence_kit.profiles.base import Model, ProfileBase, check_regex
from evidence_kit.profiles.target import RoutedTarget, TargetBase, TargetProblem


class WebTarget(RoutedTarget):
    """An inventory target captured in a browser: the shared fields (url, username, password,
    totp, certificate pin, secrets) are all a web login needs."""

TEMPLATE_HELP = (
    "Text with {field} placeholders: {username}, {password}, any secret field of the target, "
    "and {totp_code} (a fresh code from the target's totp seed). {name?} is empty when the target "
    "has no such field (OPNsense: '{totp_code?}{password}')."
)


class Condition(Model):
    """Something on the page. Every key given must hold (AND)."""

    selector: str | None = Field(None, description="Playwright selector that must be present.")
    state: Literal["visible", "attached"] = Field("visible", description="How present the selector must be.")
    text: str | None = Field(None, description="Regex that must match the page's visible text.")
    url: str | None = Field(None, description="Regex that must match the current URL.")
    title: str | None = Field(None, description="Regex that must match the page title.")
    frame: str | None = Field(None, description="CSS selector of the iframe the selector/text is in.")

    @field_validator("text", "url", "title")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return check_regex(value) if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> Condition:
        if not (self.selector or self.text or self.url or self.title):
            raise ValueError("a condition needs at least one of selector, text, url, title")
        return self

    def describe(self) -> str:
        parts = [f"{k} {getattr(self, k)!r}" for k in ("selector", "text", "url", "title") if getattr(self, k)]
        if self.frame:
            parts.append(f"in frame {self.frame!r}")
        return " and ".join(parts)


FailureOutcome = Literal["auth_failed", "mfa_required", "login_limited", "error"]


class Marker(Condition):
    """A page that ends the login with a named outcome (wrong password, MFA wall...)."""

    outcome: FailureOutcome = Field(description="Outcome this page means.")
    message: str = Field("", description="What it means, for people (goes into the detail).")


class _Step(Model):
    name: str = Field("", description="Label for the journal.")
    optional: bool = Field(
        False, description="If the element never shows (or success comes first), skip the step."
    )
    timeout: float | None = Field(None, gt=0, le=3600, description="Seconds; default: the target's step timeout.")
    skip_when: list[Condition] = Field(
        default_factory=list,
        description="Optional steps: skip at once when any of these shows (e.g. another MFA method's page).",
    )


class _ElementStep(_Step):
    selector: str = Field(description="Playwright selector of the element.")
    frame: str | None = Field(None, description="CSS selector of the iframe the element is in.")


class GotoStep(_Step):
    action: Literal["goto"]
    url: str = Field(
        "{url}", description="'{url}' (the target's URL), a path joined to it, or an absolute URL."
    )
    wait_until: Literal["load", "domcontentloaded", "networkidle", "commit"] = "load"


class FillStep(_ElementStep):
    action: Literal["fill"]
    field: str | None = Field(None, description="Target field to type: username, password, or a secret name.")
    text: str | None = Field(None, description="Literal text to type (never a secret).")
    template: str | None = Field(None, description=TEMPLATE_HELP)

    @model_validator(mode="after")
    def _one_source(self) -> FillStep:
        given = [k for k in ("field", "text", "template") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("fill needs exactly one of field, text, template")
        return self


class ClickStep(_ElementStep):
    action: Literal["click"]


class PressStep(_ElementStep):
    action: Literal["press"]
    key: str = Field("Enter", description="Key to press, e.g. Enter, Tab.")


class WaitStep(_Step):
    action: Literal["wait"]
    selector: str | None = None
    state: Literal["visible", "attached"] = "visible"
    text: str | None = Field(None, description="Regex of visible text.")
    url: str | None = Field(None, description="Regex of the URL.")
    load_state: Literal["load", "domcontentloaded", "networkidle"] | None = None
    frame: str | None = None
    seconds: float | None = Field(None, gt=0, le=60, description="Plain pause (avoid; prefer a marker).")

    @field_validator("text", "url")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return check_regex(value) if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> WaitStep:
        if not (self.selector or self.text or self.url or self.load_state or self.seconds):
            raise ValueError("wait needs one of selector, text, url, load_state, seconds")
        return self

    def condition(self) -> Condition | None:
        if not (self.selector or self.text or self.url):
            return None
        return Condition(selector=self.selector, state=self.state, text=self.text, url=self.url, frame=self.frame)


class TotpStep(_ElementStep):
    action: Literal["totp"]
    field: str = Field("totp", description="Target field holding the seed (base32 or otpauth:// URI).")


class HttpAuthStep(_Step):
    action: Literal["http_auth"]
    username_field: str = "username"
    password_field: str = "password"  # noqa: S105 - a field name, not a password
    origin: str | None = Field(None, description="Send only to this origin (default: the target URL's).")


class ScreenshotStep(_Step):
    action: Literal["screenshot"]
    full_page: bool = False
    mask: list[str] = Field(default_factory=list, description="More selectors to mask in this shot.")


class ManualStep(_Step):
    action: Literal["manual"]
    message: str = Field(description="What the technician must do (shown in the terminal).")
    when: Condition | None = Field(
        None, description="Only needed when this holds (e.g. a CAPTCHA frame is present); else skipped."
    )
    unattended_outcome: FailureOutcome = Field(
        "mfa_required", description="Outcome when the step is needed but nobody can do it (no --headed)."
    )


Step = Annotated[
    GotoStep | FillStep | ClickStep | PressStep | WaitStep | TotpStep | HttpAuthStep | ScreenshotStep | ManualStep,
    Field(discriminator="action"),
]


class Viewport(Model):
    width: int = Field(1280, ge=320, le=4096)
    height: int = Field(800, ge=240, le=4096)


class WebProfile(ProfileBase):
    driver: ClassVar[str] = "evidence_kit.drivers.web:WebDriver"
    target_model: ClassVar[type[TargetBase]] = WebTarget

    kind: Literal["web"] = "web"
    default_url: str | None = Field(None, description="URL used when the target gives none (SaaS sign-in).")
    steps: list[Step] = Field(min_length=1, description="The login, in order.")
    success: list[Condition] = Field(min_length=1, description="Any of these proves the login.")
    limited: list[Condition] = Field(
        default_factory=list, description="After success: any of these means in, but without admin rights."
    )
    privileged: list[Condition] = Field(
        default_factory=list, description="After success: any of these confirms admin rights (ends settle early)."
    )
    settle: float = Field(
        0.0, ge=0, le=30, description="Seconds after success to look for limited/privileged markers."
    )
    failure: list[Marker] = Field(default_factory=list, description="Pages that end the login with an outcome.")
    masks: list[str] = Field(
        default_factory=list, description="Selectors masked in every screenshot (password inputs always are)."
    )
    viewport: Viewport = Field(default_factory=Viewport)
    video: bool = Field(True, description="Record a video of the session (when ffmpeg is available).")

    @model_validator(mode="after")
    def _order(self) -> WebProfile:
        seen_goto = False
        for i, step in enumerate(self.steps):
            if isinstance(step, GotoStep):
                seen_goto = True
            elif isinstance(step, HttpAuthStep):
                if seen_goto:
                    raise ValueError(f"steps[{i}]: http_auth must come before the first goto")
            elif not seen_goto:
                raise ValueError(f"steps[{i}]: the first page step must be a goto")
        if not seen_goto:
            raise ValueError("steps: a web profile needs a goto step")
        return self

    def check_target(self, target: TargetBase) -> None:
        if target.url is None and self.default_url is None:
            raise TargetProblem("url", f"is required for web profile '{self.name}' (it has no default_url)")

    def secret_fields(self) -> set[str]:
        """Fields the profile types that are secrets (everything but username and literals)."""
        out: set[str] = set()
        for step in self.steps:
            if isinstance(step, FillStep):
                if step.field and step.field != "username":
                    out.add(step.field)
                if step.template:
                    out.update(f for f in re.findall(r"{(\w+)\??}", step.template) if f != "username")
            elif isinstance(step, TotpStep):
                out.add(step.field)
            elif isinstance(step, HttpAuthStep):
                out.add(step.password_field)
        return out
