"""What an inventory target says, before its kind is known, and the fields every kind shares.

Each profile kind declares its own target model (a subclass of :class:`TargetBase`, next to the
profile model in ``profiles/<kind>.py``) with the fields only that kind takes, so a field that
makes no sense for a kind (``host_key`` on a web portal) is refused instead of ignored, and a new
kind adds its fields without editing this module or the inventory loader.

A secret is never a value here: every field annotated :data:`SecretField` holds a parsed
:class:`~evidence_kit.secrets.SecretRef`, and :meth:`TargetBase.secret_refs` finds them by their
annotation, so a kind that adds one (SSH's ``enable_secret``) needs no list to keep in step.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator

from evidence_kit.secrets import SecretRef, parse_secret_ref

TARGET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SSH_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")
CERT_FINGERPRINT = re.compile(r"^(?:sha256:)?(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")


def secret_ref(value: Any) -> SecretRef | None:
    if value is None or isinstance(value, SecretRef):
        return value
    return parse_secret_ref(value)


class _SecretMarker:
    """Metadata that tags a field as a secret reference (found by :meth:`TargetBase.secret_refs`)."""


SECRET = _SecretMarker()
SecretField = Annotated[SecretRef | None, BeforeValidator(secret_ref), SECRET]


def _ssh_fingerprint(value: str | None) -> str | None:
    if value is not None and not SSH_FINGERPRINT.match(value):
        raise ValueError("must be an OpenSSH SHA-256 fingerprint (SHA256: followed by 43 base64 characters)")
    return value


# A pinned SSH host key (a target's or a jump host's): OpenSSH's SHA256:... form.
HostKeyPin = Annotated[str | None, AfterValidator(_ssh_fingerprint)]


class TargetProblem(ValueError):
    """A target's fields do not fit its profile: names the field, so the message can say where."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Timeouts(Strict):
    """Per-step timeouts in seconds; an inventory may override them per target."""

    connect: float = Field(10.0, gt=0, le=600)
    banner: float = Field(15.0, gt=0, le=600)
    auth: float = Field(30.0, gt=0, le=600)
    command: float = Field(30.0, gt=0, le=3600)
    step: float = Field(30.0, gt=0, le=3600, description="One web step (navigation, wait).")
    login: float = Field(60.0, gt=0, le=3600, description="Whole login, start to success marker.")


class TargetHead(BaseModel):
    """The two fields read before the kind is known: which target, which profile."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=TARGET_NAME)
    profile: str


class TargetBase(Strict):
    """Fields every kind of target takes. Kinds subclass it with their own."""

    name: str = Field(pattern=TARGET_NAME)
    profile: str
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    url: str | None = None
    username: str | None = None
    password: SecretField = None
    totp: SecretField = None
    secrets: dict[str, SecretRef] = Field(default_factory=dict, description="Other named secrets.")
    certificate: str | None = Field(None, description="Pinned TLS leaf fingerprint (SHA-256 hex).")
    allow_self_signed: bool = False
    expected: str | None = Field(None, description="Override the privilege the credential should have.")
    timeouts: Timeouts = Field(default_factory=Timeouts)
    description: str = ""

    @field_validator("secrets", mode="before")
    @classmethod
    def _secret_refs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: secret_ref(v) for k, v in value.items()}
        return value

    @field_validator("certificate")
    @classmethod
    def _cert_fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not CERT_FINGERPRINT.match(value):
            raise ValueError("must be a SHA-256 fingerprint (64 hex digits, colons allowed)")
        return value.lower().removeprefix("sha256:").replace(":", "")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c.isspace() for c in value)):
            raise ValueError("must be a host name or address without spaces")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @classmethod
    def secret_field_names(cls) -> tuple[str, ...]:
        """The fields of this kind that hold secret references, in declaration order."""
        return tuple(name for name, info in cls.model_fields.items() if SECRET in info.metadata
                     or _annotated_secret(info.annotation))

    def secret_refs(self) -> dict[str, SecretRef]:
        """Every secret this target names: field -> reference (``secrets:`` entries included)."""
        out = {f: getattr(self, f) for f in self.secret_field_names() if getattr(self, f) is not None}
        out.update(self.secrets)
        return out

    @property
    def address(self) -> str:
        """Where the target is, for people and the journal (URL, host:port or host)."""
        if self.url:
            return self.url
        if self.host:
            return f"{self.host}:{self.port}" if self.port else self.host
        return ""


class RoutedTarget(TargetBase):
    """A target its driver can reach through jump hosts and proxies (evidence_kit/route/).

    ``via`` and ``proxy`` name entries of the inventory's ``hops:`` / ``proxies:`` blocks (or give
    them inline); the inventory resolves them, with ``defaults:`` and any ``ssh_config``, into
    the :class:`~evidence_kit.route.model.Route` that :attr:`route` returns.
    """

    via: str | list[str | dict[str, Any]] | dict[str, Any] | None = Field(
        None, description="Jump host(s): a hop name, a list (first hop first), or an inline hop.")
    proxy: str | dict[str, Any] | None = Field(
        None, description="A proxy name, a socks5:// or http:// URL, or an inline proxy.")
    _route: Any = PrivateAttr(None)

    @property
    def route(self) -> Any:
        """The resolved route (``route.model.Route``; None until the inventory resolved it)."""
        return self._route


def _annotated_secret(annotation: Any) -> bool:
    return any(arg is SECRET for arg in typing.get_args(annotation))
