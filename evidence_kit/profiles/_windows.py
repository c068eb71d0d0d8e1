"""What the RDP and SMB kinds share: a Windows account (``DOMAIN\\user``, a UPN, or a bare name
with a separate ``domain``), and the target fields that go with it.

Not a kind (the leading underscore keeps evidence_kit/profiles/__init__.py from looking for one
here): profiles/rdp.py and profiles/smb.py subclass :class:`WindowsTarget`.

Why the forms are parsed at all: Windows takes a down-level name (``CORP\\admin``) and a UPN
(``admin@corp.example``) as the same account, and both NTLM and FreeRDP pass a UPN whole with
an empty domain. A separate ``domain`` together with either form would say the domain twice,
possibly differently, so it is refused when the inventory loads rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from evidence_kit.profiles.target import TargetBase, TargetProblem

# NetBIOS domain names: at most 15 characters, none of \ / : * ? " < > | (and no spaces here).
_NETBIOS = re.compile(r'^[^\\/:*?"<>|\s.][^\\/:*?"<>|\s]{0,14}$')
_DNS = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                  r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# sAMAccountName: at most 20 characters (UPN prefixes may be longer), none of " / \ [ ] : ; | = , + * ? < > @
_BAD_USER = re.compile(r'["/\\\[\]:;|=,+*?<>@\s]')


@dataclass(frozen=True)
class WindowsAccount:
    """An account as it is sent: ``user`` and ``domain`` for the protocol, ``form`` for people."""

    user: str
    domain: str  # NetBIOS or DNS domain; "" for a UPN (it carries its own) or a local account
    form: Literal["downlevel", "upn", "local"]

    @property
    def display(self) -> str:
        """``DOMAIN\\user``, ``user@domain`` or ``user``: what the evidence names."""
        if self.form == "downlevel":
            return f"{self.domain}\\{self.user}"
        return self.user

    @property
    def upn_domain(self) -> str:
        return self.user.split("@", 1)[1] if self.form == "upn" else ""

    def key(self) -> str:
        """Lower-case ``user@domain`` (or ``DOMAIN\\user``) for matching the same account elsewhere."""
        return self.display.lower()


def parse_account(username: str, domain: str | None = None) -> WindowsAccount:
    """Split ``username`` (and an optional separate ``domain``); ``ValueError`` names the problem."""
    name = username.strip()
    if not name:
        raise ValueError("the user name is empty")
    if "\\" in name:
        if domain:
            raise ValueError(f"'{name}' names its domain already; drop the separate 'domain'")
        dom, _, user = name.partition("\\")
        if not dom or not (_NETBIOS.match(dom) or _DNS.match(dom)):
            raise ValueError(f"'{dom}' before the backslash is not a domain name")
        _check_user(user, name)
        return WindowsAccount(user, dom, "downlevel")
    if "@" in name:
        if domain:
            raise ValueError(f"'{name}' is a UPN (it names its domain); drop the separate 'domain'")
        user, _, dom = name.rpartition("@")
        if not user or re.search(r'[\s\\"<>]', user) or not _DNS.match(dom):
            raise ValueError(f"'{name}' is not a user principal name (user@dns.domain)")
        return WindowsAccount(name, "", "upn")
    _check_user(name, name)
    if domain:
        if not (_NETBIOS.match(domain) or _DNS.match(domain)):
            raise ValueError(f"domain '{domain}' is not a NetBIOS or DNS domain name")
        return WindowsAccount(name, domain, "downlevel")
    return WindowsAccount(name, "", "local")


def _check_user(user: str, whole: str) -> None:
    if not user or _BAD_USER.search(user):
        raise ValueError(f"'{whole}': the user name is empty or holds a character Windows refuses")


class WindowsTarget(TargetBase):
    """A target logged into with a Windows account: ``host``, ``username``, ``password``."""

    domain: str | None = Field(
        None, description="NetBIOS or DNS domain, when 'username' is a bare name (not DOMAIN\\user or a UPN).")

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not (_NETBIOS.match(value) or _DNS.match(value)):
            raise ValueError("must be a NetBIOS or DNS domain name")
        return value

    def account(self) -> WindowsAccount:
        return parse_account(self.username or "", self.domain)


def check_windows_target(target: WindowsTarget, profile_name: str, kind: str) -> None:
    """What every Windows target needs: a host, a parsable account and a password."""
    for required in ("host", "username", "password"):
        if getattr(target, required) is None:
            raise TargetProblem(required, f"is required for {kind} profile '{profile_name}'")
    if target.url:
        raise TargetProblem("url", f"means nothing for {kind} targets: give host (and port)")
    try:
        target.account()
    except ValueError as exc:
        raise TargetProblem("username", str(exc)) from None
