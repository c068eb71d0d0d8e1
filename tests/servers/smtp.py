"""Real SMTP servers on 127.0.0.1 (aiosmtpd) that keep every message they accept.

Three, session-scoped, one per security mode a sender can choose:

- ``smtp_server``: STARTTLS (self-signed certificate made here), AUTH only after STARTTLS and
  required before MAIL (``auth_require_tls=True, auth_required=True``), a wrong login -> 535;
- ``smtps_server``: implicit TLS (port-465 style), AUTH offered;
- ``smtp_plain_server``: no TLS and no AUTH, as an old internal relay would be.

Recipients whose local part starts with ``refused`` get ``550 5.1.1 ... User unknown``.
Every accepted message is kept as :class:`Received` (envelope, the exact bytes, whether the
session was encrypted, who logged in); every AUTH attempt is counted in ``auth_attempts``.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import free_port, random_password
from tests.servers.tlscert import CertFiles, make_cert

USERNAME = "alerts@msp.example"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # the message as received (dot-unstuffed), byte for byte
    tls: bool
    login: str | None

    def message(self) -> EmailMessage:
        msg = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def message_id(self) -> str:
        return str(self.message()["Message-ID"])


@dataclass
class SmtpServer:
    host: str
    port: int
    security: str  # starttls | tls | plain
    username: str
    password: str
    cert: CertFiles | None
    messages: list[Received] = field(default_factory=list)
    auth_attempts: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, login)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Any = None

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def find(self, message_id: str) -> Received | None:
        with self.lock:
            return next((m for m in self.messages if m.message_id == message_id), None)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def logins(self) -> int:
        with self.lock:
            return len(self.auth_attempts)

    def secrets(self) -> list[str]:
        return [self.password]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.split("@")[0].lower().startswith("refused"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        queue_id = secrets.token_hex(5).upper()
        login = session.auth_data.login.decode() if session.authenticated and session.auth_data else None
        received = Received(
            mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos), data=bytes(envelope.original_content),
            tls=session.ssl is not None or self.server.security == "tls", login=login,
        )
        with self.server.lock:
            self.server.messages.append(received)
        return f"250 2.0.0 Ok: queued as {queue_id}"


def _authenticator(server: SmtpServer) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with server.lock:
            server.auth_attempts.append((mechanism, auth_data.login.decode(errors="replace")))
        ok = auth_data.login == server.username.encode() and auth_data.password == server.password.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def start_smtp(folder: Path, security: str) -> SmtpServer:
    from aiosmtpd.controller import Controller

    cert = make_cert(folder) if security != "plain" else None
    server = SmtpServer("127.0.0.1", free_port(), security, USERNAME, random_password("Smtp"), cert)
    kwargs: dict[str, Any] = {"server_hostname": "mx.test.invalid"}
    if security == "starttls":
        assert cert is not None
        kwargs |= {"tls_context": cert.server_context(), "authenticator": _authenticator(server),
                   "auth_required": True, "auth_require_tls": True}
    elif security == "tls":
        assert cert is not None
        # Trap: aiosmtpd counts only STARTTLS as TLS for auth_require_tls, so over implicit TLS
        # it would never offer AUTH; and auth_required without auth_require_tls warns on every
        # connection. AUTH is offered, not required: the tests check who logged in.
        kwargs |= {"ssl_context": cert.server_context(), "authenticator": _authenticator(server),
                   "auth_require_tls": False}
    # Trap: aiosmtpd's "mail.log" logs each AuthResult (password included) at DEBUG and a
    # deprecation warning on each login; the tests scan every log record for secrets.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    controller = Controller(_Handler(server), hostname=server.host, port=server.port, **kwargs)
    controller.start()
    server.controller = controller
    return server


def _serve(tmp_path_factory: pytest.TempPathFactory, security: str) -> Iterator[SmtpServer]:
    server = start_smtp(tmp_path_factory.mktemp(f"smtp-{security}"), security)
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    yield from _serve(tmp_path_factory, "starttls")


@pytest.fixture(scope="session")
def smtps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    yield from _serve(tmp_path_factory, "tls")


@pytest.fixture(scope="session")
def smtp_plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    yield from _serve(tmp_path_factory, "plain")

