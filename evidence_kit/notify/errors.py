"""Errors of the notify package, inside the one hierarchy of :mod:`evidence_kit.errors`.

Every message is one line that names the server (``host:port``) or the URL's origin and, for a
refused login, the account: enough to act on, never a password or a shared secret, and never a
webhook URL's path or query (Slack, Teams and Discord put their tokens there).
"""

from __future__ import annotations

from evidence_kit.errors import EvidenceKitError, InputError


class NotifyError(EvidenceKitError):
    """A message could not be built, sent or verified."""


class NotifyInputError(InputError, NotifyError):
    """Settings or message fields are wrong (a URL that does not parse, an address, a CA file).

    ``file`` is where the value came from (an inventory, ``--mail-to``); ``where`` the field.
    """


class RecipientPolicyError(NotifyError):
    """A recipient the caller requires (the client) is missing, or the server refused it.

    Raised before anything is sent: no copy goes out without the client.
    """


class SmtpError(NotifyError):
    """The SMTP server could not be used. ``server`` is ``host:port``."""

    def __init__(self, server: str, problem: str) -> None:
        self.server = server
        self.problem = problem
        super().__init__(f"SMTP server {server}: {problem}")


class SmtpConnectError(SmtpError):
    """No connection, no greeting in time, or the connection was lost."""


class SmtpTlsError(SmtpError):
    """No STARTTLS, a failed handshake, an untrusted or mismatching certificate.

    Raised before any credential or message is sent.
    """


class SmtpAuthError(SmtpError):
    """The server refused the login (535...) or offers no usable AUTH mechanism."""

    def __init__(self, server: str, account: str, problem: str, code: int | None = None) -> None:
        self.account = account
        self.code = code
        super().__init__(server, f"login refused for account {account!r}: {problem}")


class SmtpRefusedError(SmtpError):
    """The server refused the sender, every recipient, or the message itself."""

    def __init__(self, server: str, problem: str, code: int | None = None, text: str = "") -> None:
        self.code = code
        self.text = text
        super().__init__(server, problem)


class WebhookError(NotifyError):
    """A webhook was not delivered within its attempts and time (see ``WebhookDelivery``)."""


class SignatureError(NotifyError):
    """A webhook request's signature or timestamp does not verify (receiver side)."""
