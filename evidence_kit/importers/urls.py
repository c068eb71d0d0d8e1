"""Where an entry points: scheme, host, port and path from whatever its URL field holds.

Documentation tools hold anything in a URL field: ``https://fw.contoso.example:4443/``,
``ssh://admin@10.0.0.1:2222``, a bare ``10.0.0.1`` or ``core-sw01:22``, or nothing. A bare
host gets the scheme ``none``; user information (``user:password@``) is never kept, so a
password typed into a URL cannot reach the inventory through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

NO_SCHEME = "none"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")


@dataclass(frozen=True)
class Place:
    scheme: str = NO_SCHEME  # "https", "ssh", "ldaps"..., or "none" (bare host, or no URL)
    host: str = ""  # lower-case, without brackets
    port: int | None = None
    path: str = ""

    @property
    def web(self) -> bool:
        return self.scheme in ("http", "https")

    def url(self, default_scheme: str = "https") -> str:
        """An http(s) URL for a web target: the entry's own (without user information), or
        ``default_scheme://host[:port]/`` for a bare host."""
        scheme = self.scheme if self.web else default_scheme
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{host}{port}{self.path or '/'}"


def place_of(url: str) -> Place:
    text = url.strip()
    if not text or any(c.isspace() for c in text):
        return Place()
    has_scheme = bool(_SCHEME.match(text))
    text = _without_userinfo(text if has_scheme else f"//{text}")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:  # a port that is not a number, a broken IPv6 literal
        return Place()
    if not host or not _HOST.match(host):
        return Place()
    scheme = parts.scheme.lower() if has_scheme else NO_SCHEME
    path = parts.path
    if parts.query:
        path += "?" + parts.query
    return Place(scheme, host, port, path)


def _without_userinfo(url: str) -> str:
    """``scheme://user:password@host/...`` without ``user:password@`` (before parsing: a
    blanked password, ``[REDACTED]``, would otherwise read as a broken IPv6 literal)."""
    head, sep, rest = url.partition("//")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc = rest[:end]
    return f"{head}//{netloc.rsplit('@', 1)[-1]}{rest[end:]}"
