"""The inventory: one YAML file per case, listing targets and references to their secrets.

Every error names the file, the target and the field, in one line (exit 2). A literal
password is refused: only references (``env:``, ``prompt``, ``file:``, ``keepass:``) pass.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evidence_kit.errors import InventoryError, ProfileError
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.profiles.base import ProfileBase
from evidence_kit.profiles.directory import TRANSPORTS as DIRECTORY_TRANSPORTS
from evidence_kit.secrets import KeePassSource, SecretRef, parse_secret_ref
from evidence_kit.yamlio import describe_loc, load_yaml, pydantic_problem

TARGET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")
CERT_FINGERPRINT = re.compile(r"^(?:sha256:)?(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")
SECRET_FIELDS = ("password", "enable_secret", "totp", "key_passphrase")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _ref(value: Any) -> SecretRef | None:
    if value is None or isinstance(value, SecretRef):
        return value
    return parse_secret_ref(value)


class Timeouts(_Strict):
    """Per-step timeouts in seconds; an inventory may override them per target."""

    connect: float = Field(10.0, gt=0, le=600)
    banner: float = Field(15.0, gt=0, le=600)
    auth: float = Field(30.0, gt=0, le=600)
    command: float = Field(30.0, gt=0, le=3600)
    step: float = Field(30.0, gt=0, le=3600, description="One web step (navigation, wait).")
    login: float = Field(60.0, gt=0, le=3600, description="Whole login, start to success marker.")


class KeePassConfig(_Strict):
    database: Path
    password: SecretRef | None = None
    keyfile: Path | None = None

    @field_validator("password", mode="before")
    @classmethod
    def _secret_ref(cls, value: Any) -> SecretRef | None:
        return _ref(value)


class CaseBlock(_Strict):
    client: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    technician: str = Field(min_length=1)
    purpose: str = "credential handover"
    authorization: Path | None = None
    recipients: list[str] = Field(default_factory=list)
    keepass: KeePassConfig | None = None


class Target(_Strict):
    name: str = Field(pattern=TARGET_NAME)
    profile: str
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    url: str | None = None
    username: str | None = None
    password: SecretRef | None = None
    enable_secret: SecretRef | None = None
    totp: SecretRef | None = None
    key_file: Path | None = None
    key_passphrase: SecretRef | None = None
    secrets: dict[str, SecretRef] = Field(default_factory=dict, description="Other named secrets.")
    # identity pinning
    host_key: str | None = Field(None, description="Pinned SSH host key fingerprint, SHA256:...")
    known_hosts: Path | None = None
    certificate: str | None = Field(None, description="Pinned TLS leaf fingerprint (SHA-256 hex).")
    allow_self_signed: bool = False
    # behaviour
    legacy: bool = Field(False, description="Allow the profile's legacy algorithms (old devices).")
    expected: str | None = Field(None, description="Override the privilege the credential should have.")
    timeouts: Timeouts = Field(default_factory=Timeouts)
    # directory targets
    domain: str | None = None
    dcs: list[str] = Field(default_factory=list)
    transport: str | None = None
    description: str = ""

    @field_validator("password", "enable_secret", "totp", "key_passphrase", mode="before")
    @classmethod
    def _secret_ref(cls, value: Any) -> SecretRef | None:
        return _ref(value)

    @field_validator("secrets", mode="before")
    @classmethod
    def _secret_refs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _ref(v) for k, v in value.items()}
        return value

    @field_validator("host_key")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is not None and not FINGERPRINT.match(value):
            raise ValueError("must be an OpenSSH SHA-256 fingerprint (SHA256: followed by 43 base64 characters)")
        return value

    @field_validator("certificate")
    @classmethod
    def _cert_fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not CERT_FINGERPRINT.match(value):
            raise ValueError("must be a SHA-256 fingerprint (64 hex digits, colons allowed)")
        return value.lower().removeprefix("sha256:").replace(":", "")

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: str | None) -> str | None:
        # Directory targets: 'ldap' (no encryption) is allowed, but only when named explicitly.
        if value is not None and value.lower() not in DIRECTORY_TRANSPORTS:
            raise ValueError(f"must be one of {', '.join(DIRECTORY_TRANSPORTS)}")
        return value.lower() if value is not None else None

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

    def secret_refs(self) -> dict[str, SecretRef]:
        out = {f: getattr(self, f) for f in SECRET_FIELDS if getattr(self, f) is not None}
        out.update(self.secrets)
        return out


class InventoryModel(_Strict):
    case: CaseBlock
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> InventoryModel:
        seen: set[str] = set()
        for t in self.targets:
            if t.name in seen:
                raise ValueError(f"duplicate target name '{t.name}'")
            seen.add(t.name)
        return self


class Inventory:
    """A validated inventory with each target's profile resolved."""

    def __init__(self, path: Path, model: InventoryModel, profiles: dict[str, ProfileBase], digest: str) -> None:
        self.path = path
        self.model = model
        self.profiles = profiles
        self.sha256 = digest

    @property
    def case(self) -> CaseBlock:
        return self.model.case

    @property
    def targets(self) -> list[Target]:
        return list(self.model.targets)

    def profile_of(self, target: Target) -> ProfileBase:
        return self.profiles[target.name]

    def select(self, names: list[str]) -> list[Target]:
        if not names:
            return self.targets
        known = {t.name for t in self.targets}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InventoryError(str(self.path), f"--only names unknown target '{unknown[0]}'")
        return [t for t in self.targets if t.name in names]

    def keepass_source(self) -> KeePassSource | None:
        kp = self.case.keepass
        if kp is None:
            return None
        base = self.path.parent
        db = kp.database if kp.database.is_absolute() else base / kp.database
        keyfile = None
        if kp.keyfile is not None:
            keyfile = kp.keyfile if kp.keyfile.is_absolute() else base / kp.keyfile
        return KeePassSource(db, kp.password, keyfile)


# What each profile kind needs from a target: (field, why)
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    "ssh": ("host", "username"),
    "web": ("url",),
    "directory": ("username", "password"),
}


def load_inventory(path: Path, registry: ProfileRegistry) -> Inventory:
    path = Path(path)
    file = str(path)
    doc = load_yaml(path, InventoryError)
    if not isinstance(doc.data, dict):
        raise InventoryError(file, "an inventory is a mapping with 'case:' and 'targets:'")
    try:
        model = InventoryModel.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        raise InventoryError(file, _describe(doc.data, loc, pydantic_problem(dict(err))), _line(doc, loc))

    profiles: dict[str, ProfileBase] = {}
    for index, target in enumerate(model.targets):
        where = f"target '{target.name}'"
        if target.profile not in registry:
            raise InventoryError(
                file, f"{where} field 'profile': unknown profile '{target.profile}' "
                "(see 'evidence-kit profiles list')", _line(doc, ["targets", index, "profile"]),
            )
        try:
            profile = registry.get(target.profile).profile
        except ProfileError as exc:
            raise InventoryError(file, f"{where} field 'profile': {exc.one_line()}")
        for field in REQUIRED_BY_KIND.get(profile.kind, ()):
            if getattr(target, field) is None and not (field == "host" and target.url):
                if profile.kind == "directory" and field == "host":
                    continue
                raise InventoryError(
                    file, f"{where} field '{field}': is required for {profile.kind} profile '{profile.name}'",
                    _line(doc, ["targets", index]),
                )
        if profile.kind == "directory" and not (target.host or target.domain or target.dcs):
            raise InventoryError(
                file, f"{where} field 'host': a directory target needs host, domain or dcs",
                _line(doc, ["targets", index]),
            )
        if profile.kind == "ssh" and not (target.password or target.key_file):
            raise InventoryError(
                file, f"{where} field 'password': an SSH target needs password or key_file",
                _line(doc, ["targets", index]),
            )
        profiles[target.name] = profile
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Inventory(path, model, profiles, digest)


def _describe(data: Any, loc: list[Any], problem: str) -> str:
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        targets = data.get("targets") if isinstance(data, dict) else None
        name = None
        if isinstance(targets, list) and loc[1] < len(targets) and isinstance(targets[loc[1]], dict):
            name = targets[loc[1]].get("name")
        who = f"target '{name}'" if name else f"targets[{loc[1]}]"
        rest = describe_loc(loc[2:])
        return f"{who} field '{rest}': {problem}" if rest else f"{who}: {problem}"
    if loc == ["targets"] or not loc:
        return f"{describe_loc(loc) or 'inventory'}: {problem}"
    return f"field '{describe_loc(loc)}': {problem}"


def _line(doc: Any, loc: list[Any]) -> str | None:
    line = doc.line_of(loc)
    return f"line {line}" if line else None
