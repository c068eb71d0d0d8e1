"""RDP profiles: how to log on to a Windows desktop and screenshot it, as a person would see it.

What is proven: the server (identified by its recorded, optionally pinned, TLS certificate)
accepted the credential for an interactive logon and painted that account's desktop; the
screenshot is the evidence a legal reviewer can read. Which security mode carried the logon
(NLA or TLS) is recorded. The driver is evidence_kit/drivers/rdp/driver.py; docs/windows.md
says what this does and does not prove, and its side effects.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from evidence_kit.profiles._windows import WindowsTarget, check_windows_target
from evidence_kit.profiles.base import Model, ProfileBase
from evidence_kit.profiles.target import TargetBase, TargetProblem

Security = Literal["auto", "nla", "tls"]
ScreenshotKind = Literal["desktop", "failure"]


class RdpTarget(WindowsTarget):
    """An inventory target logged on to over RDP."""

    security: Security | None = Field(
        None, description="Override the profile's security: nla (require NLA), tls (TLS only), auto.")
    allow_session_takeover: bool | None = Field(
        None, description="true: go on when the server offers to disconnect or reconnect another session "
        "(someone may be bumped). Default (the profile's): stop.")


class RdpTimeouts(Model):
    """Seconds; an inventory's ``timeouts`` override them (``connect``, and ``login`` for ``logon``)."""

    connect: float = Field(20.0, gt=0, le=600, description="TCP, negotiation, TLS and NLA.")
    logon: float = Field(60.0, gt=0, le=3600, description="From connecting until the desktop has painted.")


class RdpProfile(ProfileBase):
    driver: ClassVar[str] = "evidence_kit.drivers.rdp.driver:RdpDriver"
    target_model: ClassVar[type[TargetBase]] = RdpTarget

    kind: Literal["rdp"] = "rdp"
    port: int = Field(3389, ge=1, le=65535)
    security: Security = Field(
        "auto",
        description="auto: offer NLA and TLS, use what the server picks (recorded); nla: refuse a server "
        "that does not pick NLA (nothing is sent); tls: offer TLS only (for servers with NLA off).",
    )
    settle: float = Field(
        2.0, ge=0.25, le=120, description="Seconds the screen must stay unchanged to count as painted.")
    logon_screen_hold: float = Field(
        8.0, ge=1, le=120,
        description="TLS without NLA: seconds a server's own logon window must stay unchanged before the "
        "logon counts as refused (xrdp keeps it up after a wrong password).",
    )
    width: int = Field(1280, ge=640, le=4096)
    height: int = Field(1024, ge=480, le=4096)
    record_video: bool = Field(False, description="Keep an MP4 of the logon (frames as grabbed; system ffmpeg).")
    screenshots: tuple[ScreenshotKind, ...] = Field(
        ("desktop", "failure"),
        description="desktop: the painted desktop on success; failure: what the screen showed when a logon "
        "did not succeed (a logon screen, an error dialog).",
    )
    allow_session_takeover: bool = Field(
        False,
        description="false: stop at once when the server says another session is involved (another user "
        "connected, disconnect or reconnect offers). Undetectable cases: docs/windows.md.",
    )
    client_hostname: str = Field(
        "evidence-kit", pattern=r"^[A-Za-z0-9-]{1,15}$",
        description="The workstation name the server's logon events show (NetBIOS: at most 15 characters).",
    )
    timeouts: RdpTimeouts = Field(default_factory=lambda: RdpTimeouts.model_validate({}))

    def check_target(self, target: TargetBase) -> None:
        assert isinstance(target, RdpTarget)
        check_windows_target(target, self.name, "rdp")
        if "login" in target.timeouts.model_fields_set and target.timeouts.login < self.settle:
            raise TargetProblem("timeouts", f"login ({target.timeouts.login:g} s) is shorter than the profile's "
                                f"settle ({self.settle:g} s): the desktop could never count as painted")
