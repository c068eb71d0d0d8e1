"""What the inventory says about routes, and the resolved route a target carries.

Input (validated when the inventory loads, each error one line naming the block and field):

- :class:`HopSpec`: one entry of the top-level ``hops:`` mapping (or an inline hop in a target's
  ``via:`` list): an SSH server to jump through, with its own credential references and host key
  pin or known_hosts; ``via:`` names the hop before it, so hops chain.
- :class:`ProxySpec`: one entry of ``proxies:`` (or inline): a SOCKS5 or HTTP CONNECT proxy URL
  without credentials, and the proxy's user name and password *reference*.
- :class:`DefaultsSpec`: the ``defaults:`` block, applied to every target that does not say
  otherwise.

Output: a :class:`Route` (frozen), attached to the target by route/build.py and read by the
drivers through route/dial.py. Secrets stay references: a route names the session secret field
each credential is filed under (``hop:bastion:password``), and :attr:`Route.secret_refs` gives
capture.py what to resolve, with a label naming the hop or proxy, so a hop shared by a hundred
targets is prompted for once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evidence_kit.profiles.target import HostKeyPin, SecretField
from evidence_kit.secrets import SecretRef

HOP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@:\[\]-]{0,127}$"
PROXY_SCHEMES = ("socks5", "http")
DEFAULT_PROXY_PORTS = {"socks5": 1080, "http": 8080}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def check_host(value: str) -> str:
    if not value.strip() or any(c.isspace() for c in value):
        raise ValueError("must be a host name or address without spaces")
    return value


class HopSpec(_Strict):
    """A jump host: an SSH server whose ``direct-tcpip`` channels carry the next connection."""

    name: str | None = Field(None, pattern=HOP_NAME, description="Only for inline hops.")
    host: str
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1)
    password: SecretField = None
    key_file: Path | None = None
    key_passphrase: SecretField = None
    key: Literal["agent"] | None = Field(None, description="'agent': sign with a key from SSH_AUTH_SOCK.")
    host_key: HostKeyPin = Field(None, description="Pinned host key fingerprint, SHA256:...")
    known_hosts: Path | None = None
    via: str | None = Field(None, description="The hop this one is reached through.")
    reuse: bool = Field(True, description="One connection to this hop for every target of the run.")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value)

    @model_validator(mode="after")
    def _credential(self) -> HopSpec:
        if self.password is None and self.key_file is None and self.key is None:
            raise ValueError("a hop needs password, key_file or key: agent")
        return self


class ProxySpec(_Strict):
    """A proxy in front of the first connection: ``socks5://host:port`` or ``http://host:port``."""

    url: str
    username: str | None = None
    password: SecretField = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parse_proxy_url(value)
        return value

    @model_validator(mode="after")
    def _pair(self) -> ProxySpec:
        if self.password is not None and not self.username:
            raise ValueError("a proxy password needs a username")
        return self


def parse_proxy_url(value: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a proxy URL; ``ValueError`` (never repeating a password) if wrong."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError("is not a proxy URL (socks5://HOST:PORT or http://HOST:PORT)")
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise ValueError(f"proxy scheme must be one of {', '.join(s + '://' for s in PROXY_SCHEMES)} "
                         "(socks5 resolves names at the proxy)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("carries credentials: give the proxy's username and password (a secret reference) "
                         "as fields instead")
    if not parts.hostname:
        raise ValueError("has no host (socks5://HOST:PORT or http://HOST:PORT)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be only scheme://HOST:PORT")
    return scheme, parts.hostname, port or DEFAULT_PROXY_PORTS[scheme]


class DefaultsSpec(_Strict):
    """Route settings for every target that does not set them itself (``via: []`` opts out)."""

    via: str | list[str] | None = None
    proxy: str | None = None
    ssh_config: Path | bool | None = None
    known_hosts: Path | None = None


# --- the resolved route -------------------------------------------------------------------------


@dataclass(frozen=True)
class HostKeyPolicy:
    """How a server's host key is judged: a pin wins; else known_hosts files; else not pinned."""

    pin: str | None = None
    known_hosts: tuple[Path, ...] = ()

    @property
    def pinned(self) -> bool:
        return bool(self.pin or self.known_hosts)


@dataclass(frozen=True)
class SshLogin:
    """Who logs in and with what. Credentials are session secret *field names*, never values."""

    username: str
    password: str | None = None
    key_files: tuple[Path, ...] = ()
    key_passphrase: str | None = None
    agent: bool = False

    def methods(self) -> list[str]:
        out = ["publickey (agent)"] if self.agent else []
        out += ["publickey"] if self.key_files else []
        return out + (["password"] if self.password else [])


@dataclass(frozen=True)
class Hop:
    name: str
    host: str
    port: int
    login: SshLogin
    host_keys: HostKeyPolicy
    reuse: bool = True
    source: str = "inventory hops"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def who(self) -> str:
        return f"hop '{self.name}' ({self.address})"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "username": self.login.username,
                "methods": self.login.methods(), "host_key_pin": self.host_keys.pin,
                "known_hosts": [str(p) for p in self.host_keys.known_hosts], "reuse": self.reuse,
                "source": self.source}


@dataclass(frozen=True)
class Proxy:
    name: str
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None  # session secret field name

    @property
    def url(self) -> str:
        """The URL without credentials: what the journal and the report show."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def who(self) -> str:
        return f"proxy '{self.name}' ({self.url})"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "username": self.username}


@dataclass(frozen=True)
class ConfigLine:
    directive: str
    value: str
    file: str
    line: int
    why: str = ""  # for ignored lines: why

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"directive": self.directive, "value": self.value, "file": self.file,
                               "line": self.line}
        return {**out, "why": self.why} if self.why else out


@dataclass(frozen=True)
class ConfigUse:
    """What an OpenSSH config contributed to one target: honoured and ignored directives."""

    file: str
    alias: str
    applied: tuple[ConfigLine, ...] = ()
    ignored: tuple[ConfigLine, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {"file": self.file, "alias": self.alias, "applied": [c.as_dict() for c in self.applied],
                "ignored": [c.as_dict() for c in self.ignored]}


@dataclass(frozen=True)
class Route:
    """How one target is reached: an optional proxy for the first connection, then hops in order."""

    hops: tuple[Hop, ...] = ()
    proxy: Proxy | None = None
    ssh_config: ConfigUse | None = None
    # session secret field -> (reference, label for prompts and errors)
    secret_refs: Mapping[str, tuple[SecretRef, str]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def direct(self) -> bool:
        return not self.hops and self.proxy is None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"hops": [h.describe() for h in self.hops],
                               "proxy": self.proxy.describe() if self.proxy else None}
        if self.ssh_config is not None:
            out["ssh_config"] = {"file": self.ssh_config.file, "alias": self.ssh_config.alias}
        return out

    def summary(self) -> str:
        """One line for people: ``proxy socks5://h:1080 -> hop bastion (h:22) -> ...``."""
        parts = [f"proxy {self.proxy.url}"] if self.proxy else []
        parts += [f"hop {h.name} ({h.address})" for h in self.hops]
        return " -> ".join(parts) if parts else "direct"


DIRECT = Route()
