"""Where alert settings live and how they become channels: the ``alerts:`` block.

The block sits in the inventory (``alerts:`` beside ``case:`` and ``targets:``: who hears about
*this client's* credentials), or in a file of its own given with ``run --alerts FILE``, which
then replaces the inventory's block (an inventory made by ``import`` can be made again without
losing it; one file can hold an MSP's relay settings)::

    alerts:
      email:
        from: "evidence-kit <alerts@msp.example>"
        to: [noc@msp.example]
        client: it@contoso.example        # required: the client is copied on every alert (Cc)
        smtp: {host: smtp.msp.example, port: 587, security: starttls,
               username: alerts@msp.example, password: env:SMTP_PASSWORD, cafile: msp-ca.pem}
      webhook:
        url: https://hooks.msp.example/evidence-kit    # or env:HOOK_URL when the URL holds a token
        secret: env:HOOK_SECRET                         # HMAC-SHA256 key (docs/notify.md)
        retry: {max_attempts: 5, total_time: 120}

Secrets are references (``env:``, ``file:``, ``keepass:``; ``prompt`` needs a terminal), never
values. Every problem is one line naming the file, the field and, where known, the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evidence_kit.errors import InputError
from evidence_kit.notify.message import parse_address
from evidence_kit.notify.smtp import SmtpSettings
from evidence_kit.notify.tls import TlsSettings
from evidence_kit.notify.webhook import RetryPolicy, WebhookSettings, WebhookUrl, parse_webhook_url
from evidence_kit.profiles.target import secret_ref
from evidence_kit.secrets import SecretRef, SecretResolver, parse_secret_ref
from evidence_kit.yamlio import LocatedYaml, describe_loc, load_yaml, pydantic_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True)


class _Tls(_Strict):
    cafile: Path | None = None
    pin_sha256: str | None = None
    server_name: str | None = None

    def tls(self, base: Path) -> TlsSettings:
        cafile = None if self.cafile is None else (self.cafile if self.cafile.is_absolute() else base / self.cafile)
        return TlsSettings(cafile=cafile, pin_sha256=self.pin_sha256, server_name=self.server_name)


class SmtpBlock(_Tls):
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    timeout: float = Field(default=30.0, gt=0)
    helo_name: str | None = None

    _ref = field_validator("password", mode="before")(lambda cls, v: secret_ref(v))

    @model_validator(mode="after")
    def _pairs(self) -> SmtpBlock:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.security == "plain" and self.password is not None:
            raise ValueError("a password is never sent without TLS; use security starttls or tls")
        return self


class EmailBlock(_Strict):
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    client: str
    cc: list[str] = Field(default_factory=list)
    subject_prefix: str = "[evidence-kit]"
    smtp: SmtpBlock

    @field_validator("sender", "client")
    @classmethod
    def _address(cls, value: str) -> str:
        _parse(value)
        return value

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            _parse(value)
        return values


def _parse(value: str) -> None:
    from evidence_kit.notify.errors import NotifyInputError

    try:
        parse_address(value)
    except NotifyInputError as exc:
        raise ValueError(exc.problem)


class RetryBlock(_Strict):
    max_attempts: int = Field(default=5, ge=1, le=20)
    total_time: float = Field(default=120.0, gt=0, le=3600)


class WebhookBlock(_Tls):
    url: str
    secret: SecretRef
    timeout: float = Field(default=10.0, gt=0)
    retry: RetryBlock = Field(default_factory=RetryBlock)

    _ref = field_validator("secret", mode="before")(lambda cls, v: secret_ref(v))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        from evidence_kit.notify.errors import NotifyInputError

        if "://" not in value:
            try:
                parse_secret_ref(value)  # a reference: checked when it is resolved
            except ValueError:
                raise ValueError("must be an http:// or https:// URL, or a secret reference (env:NAME, file:PATH) "
                                 "to one")
            return value
        try:
            parse_webhook_url(value)
        except NotifyInputError as exc:
            raise ValueError(exc.problem)
        return value


class AlertsConfig(_Strict):
    email: EmailBlock | None = None
    webhook: WebhookBlock | None = None

    @model_validator(mode="after")
    def _some(self) -> AlertsConfig:
        if self.email is None and self.webhook is None:
            raise ValueError("names no channel: give email:, webhook: or both")
        return self


@dataclass(frozen=True)
class LoadedAlerts:
    config: AlertsConfig
    file: str  # where it came from (errors and messages name it)
    base_dir: Path  # relative cafile: / file: references start here


def parse_alerts(data: Any, doc: LocatedYaml, file: str, prefix: list[Any], base_dir: Path) -> LoadedAlerts:
    """Validate an alerts block found at ``prefix`` in ``doc``; one-line InputError otherwise."""
    if not isinstance(data, dict):
        raise InputError(file, f"field '{describe_loc(prefix) or 'alerts'}': must be a mapping with email: and/or "
                               "webhook:", _line(doc, prefix))
    try:
        config = AlertsConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [*prefix, *[("from" if part == "sender" else part) for part in err["loc"]]]
        where = describe_loc(loc) or "alerts"
        raise InputError(file, f"field '{where}': {pydantic_problem(dict(err))}", _line(doc, loc))
    return LoadedAlerts(config, file, base_dir)


def _line(doc: LocatedYaml, loc: list[Any]) -> str | None:
    line = doc.line_of(loc)
    return f"line {line}" if line else None


def alerts_of_inventory(inventory_path: Path) -> LoadedAlerts | None:
    """The inventory's own ``alerts:`` block, or None."""
    doc = load_yaml(inventory_path, InputError)
    if not isinstance(doc.data, dict) or doc.data.get("alerts") is None:
        return None
    return parse_alerts(doc.data["alerts"], doc, str(inventory_path), ["alerts"], Path(inventory_path).parent)


def alerts_file(path: Path) -> LoadedAlerts:
    """``--alerts FILE``: the same block in a file of its own (an ``alerts:`` key around it is allowed)."""
    doc = load_yaml(path, InputError)
    data, prefix = doc.data, []
    if isinstance(data, dict) and set(data) == {"alerts"}:
        data, prefix = data["alerts"], ["alerts"]
    return parse_alerts(data, doc, str(path), prefix, Path(path).parent)


# --------------------------------------------------------------------------- resolved channels


@dataclass(frozen=True)
class EmailChannel:
    settings: SmtpSettings
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    client: str
    subject_prefix: str


@dataclass(frozen=True)
class WebhookChannel:
    settings: WebhookSettings

    @property
    def origin(self) -> str:
        return self.settings.url.origin


@dataclass(frozen=True)
class AlertChannels:
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None
    source: str = ""

    def names(self) -> list[str]:
        return [name for name, channel in (("email", self.email), ("webhook", self.webhook)) if channel is not None]


def resolve(loaded: LoadedAlerts, resolver: SecretResolver) -> AlertChannels:
    """Resolve every secret of the block (before anything connects) into ready channels."""
    config, file = loaded.config, loaded.file
    email = webhook = None
    if config.email is not None:
        block = config.email
        smtp = block.smtp
        password = None
        if smtp.password is not None:
            password = resolver.resolve(smtp.password, f"{file}: field 'alerts.email.smtp.password'")
        settings = SmtpSettings(host=smtp.host, port=smtp.port, security=smtp.security, username=smtp.username,
                                password=password, tls=smtp.tls(loaded.base_dir), timeout=smtp.timeout,
                                helo_name=smtp.helo_name)
        email = EmailChannel(settings, block.sender, tuple(block.to), tuple(block.cc), block.client,
                             block.subject_prefix)
    if config.webhook is not None:
        hook = config.webhook
        url_text = hook.url
        if "://" not in url_text:
            url_text = resolver.resolve(parse_secret_ref(url_text), f"{file}: field 'alerts.webhook.url'").reveal()
        url: WebhookUrl = parse_webhook_url(url_text, file=file, where="field 'alerts.webhook.url'")
        secret = resolver.resolve(hook.secret, f"{file}: field 'alerts.webhook.secret'")
        webhook = WebhookChannel(WebhookSettings(
            url=url, secret=secret, tls=hook.tls(loaded.base_dir), timeout=hook.timeout,
            retry=RetryPolicy(max_attempts=hook.retry.max_attempts, total_time=hook.retry.total_time)))
    return AlertChannels(email, webhook, file)


def load_channels(inventory_path: Path, alerts_path: Path | None, resolver: SecretResolver,
                  file_resolver: SecretResolver | None = None) -> AlertChannels | None:
    """The run's channels: ``--alerts FILE`` if given (``file_resolver`` resolves its references,
    relative to that file), else the inventory's block; None when neither names any."""
    loaded = alerts_file(alerts_path) if alerts_path is not None else alerts_of_inventory(inventory_path)
    if loaded is None:
        return None
    return resolve(loaded, file_resolver if alerts_path is not None and file_resolver is not None else resolver)
