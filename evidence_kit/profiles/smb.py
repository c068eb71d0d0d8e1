"""SMB profiles: prove administrative rights on a Windows server by opening its admin shares.

What is proven: the server (identified by the names and clock it gives in its NTLM challenge,
and its GUID) accepted the credential for a network logon, and whether an administrative share
(``ADMIN$``, ``C$``: local administrators only; on a domain member, Domain Admins by default)
opened. Nothing is read or written: a tree connect opens no file. The driver is
evidence_kit/drivers/smb/driver.py; docs/windows.md says what this does and does not prove.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from evidence_kit.profiles._windows import WindowsTarget, check_windows_target
from evidence_kit.profiles.base import ProfileBase
from evidence_kit.profiles.target import TargetBase, TargetProblem

# Share names: no \ / : * ? " < > | and at most 80 characters (what Windows allows).
_SHARE = re.compile(r'^[^\\/:*?"<>|\x00-\x1f]{1,80}$')
EXPECTED = ("admin", "logon")


class SmbTarget(WindowsTarget):
    """An inventory target proven over SMB (port 445). ``expected: logon`` makes a logon without
    an administrative share ``login_ok`` (an account that is not meant to be an administrator)."""


class SmbProfile(ProfileBase):
    driver: ClassVar[str] = "evidence_kit.drivers.smb.driver:SmbDriver"
    target_model: ClassVar[type[TargetBase]] = SmbTarget

    kind: Literal["smb"] = "smb"
    port: int = Field(445, ge=1, le=65535)
    shares: list[str] = Field(
        default_factory=lambda: ["IPC$"],
        description="Shares tried first (IPC$, user shares such as SYSVOL or NETLOGON on a DC); recorded, "
        "they do not make the logon administrative.")
    admin_shares: list[str] = Field(
        default_factory=lambda: ["ADMIN$", "C$"], min_length=1,
        description="Shares only administrators can open: login_ok when one of them opens.")
    require_encryption: bool = Field(
        False, description="Refuse a session the server will not encrypt (SMB 3 encryption).")
    expected: Literal["admin", "logon"] = Field(
        "admin", description="admin: login_ok needs an administrative share; logon: the logon is enough. "
        "An inventory's 'expected' overrides.")
    timeout: float = Field(10.0, gt=0, le=600, description="Seconds for each SMB exchange (the inventory's "
                           "timeouts.connect overrides).")

    @field_validator("shares", "admin_shares")
    @classmethod
    def _share_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _SHARE.match(name):
                raise ValueError(f"{name!r} is not a share name")
        if len({n.upper() for n in value}) != len(value):
            raise ValueError("a share is named twice")
        return value

    def check_target(self, target: TargetBase) -> None:
        assert isinstance(target, SmbTarget)
        check_windows_target(target, self.name, "smb")
        if target.expected is not None and target.expected not in EXPECTED:
            raise TargetProblem("expected", f"must be one of {', '.join(EXPECTED)} for smb targets")
        if target.certificate or target.allow_self_signed:
            raise TargetProblem("certificate" if target.certificate else "allow_self_signed",
                                "SMB has no TLS certificate to pin or accept")

    def tried_shares(self) -> tuple[str, ...]:
        """Every share tried, in order, each once (an admin share also listed in 'shares' is not tried twice)."""
        seen = {s.upper() for s in self.admin_shares}
        return (*(s for s in self.shares if s.upper() not in seen), *self.admin_shares)
