"""Send one message over SMTP, encrypted and authenticated, and say exactly what the server did.

The result (:class:`SmtpDelivery`) is what the journal keeps as proof that something was sent
in writing: the Message-ID, the envelope, which recipients the server accepted and refused,
the server's final reply to the message (``250 ... queued as ...``) and the SHA-256 of the
certificate the server presented.

Security, in order of preference: ``starttls`` (the default, port 587; a server that does not
offer STARTTLS is refused before anything is sent), ``tls`` (implicit TLS, port 465),
``plain`` (only when chosen, and never with a password: for a local relay). The password is
revealed only for the AUTH command, one mechanism is tried once (a refused login is never
retried: lockout counters), and smtplib's protocol trace, when ``debug`` is on, goes to the
``evidence_kit.notify.smtp`` logger with the AUTH exchange withheld and secrets redacted.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Literal

from evidence_kit.notify.errors import (
    NotifyInputError,
    RecipientPolicyError,
    SmtpAuthError,
    SmtpConnectError,
    SmtpError,
    SmtpRefusedError,
    SmtpTlsError,
)
from evidence_kit.notify.message import check_required_recipients, message_recipients
from evidence_kit.notify.tls import TlsSettings, client_context, describe_tls_failure, peer_sha256, pin_problem
from evidence_kit.redact import Redactor, redact_logs
from evidence_kit.secrets import Secret

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "plain"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "plain": 25}
# PLAIN and LOGIN carry the password as is, which TLS protects; CRAM-MD5 only as a last resort.
MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send. ``password`` is a resolved :class:`Secret` (revealed at AUTH only)."""

    host: str
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: Secret | None = None
    tls: TlsSettings = field(default_factory=TlsSettings)
    timeout: float = 30.0  # seconds, for the connection and each reply
    helo_name: str | None = None  # EHLO name; smtplib's default is this machine's FQDN
    debug: bool = False  # protocol trace at DEBUG on this module's logger, AUTH withheld

    def __post_init__(self) -> None:
        def bad(problem: str, where: str) -> NotifyInputError:
            return NotifyInputError("smtp settings", problem, where)

        if not self.host or any(c.isspace() for c in self.host):
            raise bad("needs a host name or address", "host")
        if self.security not in DEFAULT_PORTS:
            raise bad(f"{self.security!r} is not one of starttls, tls, plain", "security")
        if self.port is not None and not 0 < self.port < 65536:
            raise bad(f"{self.port} is not a TCP port", "port")
        if (self.username is None) != (self.password is None):
            raise bad("username and password go together", "password" if self.username else "username")
        if self.security == "plain" and self.password is not None:
            raise bad("a password is never sent without TLS; use security starttls or tls", "security")
        if not self.timeout > 0:
            raise bad("must be more than 0 seconds", "timeout")

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def server(self) -> str:
        return f"{self.host}:{self.effective_port}"


@dataclass(frozen=True)
class SmtpReply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True)
class RefusedRecipient:
    address: str
    code: int
    text: str


@dataclass(frozen=True)
class SmtpDelivery:
    """What the server did with one message: the record the journal keeps."""

    server: str
    security: str
    message_id: str
    envelope_sender: str
    accepted: tuple[str, ...]
    refused: tuple[RefusedRecipient, ...]
    final_reply: SmtpReply
    authenticated_as: str | None
    tls_version: str | None
    server_cert_sha256: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Traced(smtplib.SMTP):
    """smtplib's client with its protocol trace (stderr by default) sent to ``trace`` instead."""

    trace: Callable[[str], None] = staticmethod(lambda line: None)
    sni: str = ""

    def _print_debug(self, *args: object) -> None:
        self.trace(" ".join(str(a) for a in args))


class _TracedTls(_Traced, smtplib.SMTP_SSL):
    """Implicit TLS; the handshake names ``sni`` (which may differ from the address dialled)."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = socket.create_connection((host, port), timeout, self.source_address)
        try:
            return self.context.wrap_socket(raw, server_hostname=self.sni)
        except BaseException:
            raw.close()
            raise


def _client(settings: SmtpSettings, ctx: ssl.SSLContext | None, trace: Callable[[str], None]) -> smtplib.SMTP:
    kwargs: dict[str, Any] = {"local_hostname": settings.helo_name, "timeout": settings.timeout}
    client: _Traced = _TracedTls(context=ctx, **kwargs) if settings.security == "tls" else _Traced(**kwargs)
    client.trace = trace
    client.sni = settings.tls.server_name or settings.host
    client._host = client.sni  # type: ignore[attr-defined]  # what smtplib's starttls() names
    client.debuglevel = 1 if settings.debug else 0
    return client


class _Session:
    """One connection: every step maps smtplib's exceptions to one-line :class:`SmtpError` s."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.s = settings
        self.stage = "while connecting"
        secrets = [settings.password.reveal()] if settings.password else []
        self._redactor = Redactor(secrets)
        self.ctx = client_context(settings.tls) if settings.security != "plain" else None
        self.client = _client(settings, self.ctx, self._trace)
        self.cert_sha256: str | None = None
        self.tls_version: str | None = None

    def _trace(self, line: str) -> None:
        if self.stage == "during login" and line.startswith("send:"):
            line = "send: [AUTH exchange withheld]"
        log.debug("%s %s", self.s.server, self._redactor.redact_text(line))

    def _text(self, resp: bytes | str) -> str:
        text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
        return self._redactor.redact_text(" ".join(text.split()))

    def fail(self, exc: BaseException) -> SmtpError:
        """The error for ``exc`` raised during the current stage."""
        where = self.stage
        if isinstance(exc, ssl.SSLError):
            tail = "" if where in ("during login", "while sending") else "; nothing was sent"
            return SmtpTlsError(self.s.server, f"{where}: {describe_tls_failure(exc)}{tail}")
        # smtplib turns a read timeout into SMTPServerDisconnected; the timeout is its context.
        timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
        if isinstance(exc, smtplib.SMTPServerDisconnected) and not timed_out:
            return SmtpConnectError(self.s.server, f"connection closed by the server {where}")
        if timed_out:
            return SmtpConnectError(self.s.server, f"no answer within {self.s.timeout:g} s {where}")
        if isinstance(exc, smtplib.SMTPResponseException):
            return SmtpRefusedError(self.s.server, f"{exc.smtp_code} {self._text(exc.smtp_error)} {where}",
                                    exc.smtp_code, self._text(exc.smtp_error))
        if isinstance(exc, OSError):
            return SmtpConnectError(self.s.server, f"{exc.strerror or exc.__class__.__name__} {where}")
        return SmtpError(self.s.server, f"{exc.__class__.__name__}: {self._text(str(exc))} {where}")

    def open(self) -> None:
        code, resp = self.client.connect(self.s.host, self.s.effective_port)
        if code != 220:
            raise SmtpConnectError(self.s.server, f"greeting refused: {code} {self._text(resp)}")
        if self.s.security == "tls":
            self._check_certificate()
        self.stage = "during EHLO"
        self._ehlo()
        if self.s.security == "starttls":
            if not self.client.has_extn("starttls"):
                raise SmtpTlsError(self.s.server, "does not offer STARTTLS; nothing was sent "
                                   "(security: plain allows an unencrypted relay, without a password)")
            self.stage = "during STARTTLS"
            self.client.starttls(context=self.ctx)  # anything but 220 raises
            self._check_certificate()
            self._ehlo()

    def _ehlo(self) -> None:
        code, resp = self.client.ehlo()
        if code != 250:
            raise SmtpRefusedError(self.s.server, f"EHLO refused: {code} {self._text(resp)}", code, self._text(resp))

    def _check_certificate(self) -> None:
        sock = self.client.sock
        assert isinstance(sock, ssl.SSLSocket)
        self.cert_sha256 = peer_sha256(sock)
        self.tls_version = sock.version()
        problem = pin_problem(self.s.tls, self.cert_sha256)
        if problem:
            raise SmtpTlsError(self.s.server, f"{problem}; nothing was sent")

    def login(self) -> str | None:
        if self.s.username is None or self.s.password is None:
            return None
        account = self.s.username
        offered = (self.client.esmtp_features.get("auth") or "").upper().split()
        mechanism = next((m for m in MECHANISMS if m in offered), None)
        if mechanism is None:
            raise SmtpAuthError(self.s.server, account, f"the server offers no usable AUTH mechanism "
                                f"({' '.join(offered) or 'none'})")
        self.stage = "during login"
        password = self.s.password.reveal()
        redact_logs(password)
        client: Any = self.client  # smtplib's auth_* read these two attributes
        client.user, client.password = account, password
        try:
            auth_object = getattr(client, "auth_" + mechanism.lower().replace("-", "_"))
            client.auth(mechanism, auth_object)  # returns only on 235 (or 503: already in)
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpAuthError(self.s.server, account, f"{exc.smtp_code} {self._text(exc.smtp_error)}",
                                exc.smtp_code)
        finally:
            client.password = ""
            del password
        self.stage = "while sending"
        return account

    def deliver(self, msg: EmailMessage, sender: str, recipients: tuple[str, ...],
                required: tuple[str, ...]) -> tuple[list[str], list[RefusedRecipient], SmtpReply]:
        self.stage = "while sending"
        code, resp = self.client.mail(sender)
        if code != 250:
            self._abort()
            raise SmtpRefusedError(self.s.server, f"refused the sender <{sender}>: {code} {self._text(resp)}",
                                   code, self._text(resp))
        accepted: list[str] = []
        refused: list[RefusedRecipient] = []
        for rcpt in recipients:
            code, resp = self.client.rcpt(rcpt)
            if code in (250, 251):
                accepted.append(rcpt)
            else:
                refused.append(RefusedRecipient(rcpt, code, self._text(resp)))
        lost = [r for r in refused if r.address.casefold() in {q.casefold() for q in required}]
        if lost:
            self._abort()
            raise RecipientPolicyError(
                f"SMTP server {self.s.server} refused required recipient(s) "
                + "; ".join(f"{r.address} ({r.code} {r.text})" for r in lost) + "; nothing was sent"
            )
        if not accepted:
            self._abort()
            raise SmtpRefusedError(self.s.server, "refused every recipient: " + "; ".join(
                f"{r.address} ({r.code} {r.text})" for r in refused))
        try:
            code, resp = self.client.data(msg.as_bytes())
        except smtplib.SMTPDataError as exc:
            raise SmtpRefusedError(self.s.server, f"refused the message: {exc.smtp_code} "
                                   f"{self._text(exc.smtp_error)}", exc.smtp_code, self._text(exc.smtp_error))
        return accepted, refused, SmtpReply(code, self._text(resp))

    def _abort(self) -> None:
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            pass

    def close(self) -> None:
        try:
            if self.client.sock is not None:
                self.client.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self.client.close()


def send_message(
    msg: EmailMessage,
    settings: SmtpSettings,
    *,
    required_recipients: Iterable[str] = (),
    envelope_sender: str | None = None,
) -> SmtpDelivery:
    """Send ``msg`` to its ``To`` and ``Cc`` addresses; return what the server did.

    ``required_recipients`` (the client) must be among ``To``/``Cc`` and must be accepted by
    the server, or nothing is sent (:class:`RecipientPolicyError`). Other refused recipients
    are reported in the result; the message is sent to those accepted. ``envelope_sender``
    defaults to the ``From`` address. Errors are :class:`SmtpError` subclasses, one line each.
    """
    message_id = str(msg.get("Message-ID", "")).strip()
    if not message_id:
        raise NotifyInputError("message", "has no Message-ID (build it with build_message)", "Message-ID")
    recipients = message_recipients(msg)
    required = tuple(parseaddr(r)[1] or r for r in required_recipients)
    check_required_recipients(recipients, required)
    sender = envelope_sender or parseaddr(str(msg.get("From", "")))[1]
    if not sender:
        raise NotifyInputError("message", "has no From address", "From")

    session = _Session(settings)
    try:
        try:
            session.open()
            account = session.login()
            accepted, refused, reply = session.deliver(msg, sender, recipients, required)
        except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError and timeouts are OSErrors
            raise session.fail(exc) from None
    finally:
        session.close()
    delivery = SmtpDelivery(
        server=settings.server, security=settings.security, message_id=message_id,
        envelope_sender=sender, accepted=tuple(accepted), refused=tuple(refused), final_reply=reply,
        authenticated_as=account, tls_version=session.tls_version, server_cert_sha256=session.cert_sha256,
    )
    log.info("sent %s via %s to %d recipient(s) (%d refused): %s", message_id, settings.server,
             len(accepted), len(refused), reply)
    return delivery


def check_login(settings: SmtpSettings) -> str | None:
    """Connect, secure the session and log in, then quit without sending anything.

    For a scheduled run that must learn of a refused login (a rotated password) before it
    captures, not after: the same one-line :class:`SmtpError` s as :func:`send_message`.
    Returns the account logged in as (None when the settings have no AUTH).
    """
    session = _Session(settings)
    try:
        try:
            session.open()
            return session.login()
        except (smtplib.SMTPException, OSError) as exc:
            raise session.fail(exc) from None
    finally:
        session.close()
