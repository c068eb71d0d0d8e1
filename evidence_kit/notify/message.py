"""Building the mail a tool sends in writing: the handover transmittal, an alert.

Why no ``Bcc``: every recipient is named in what is produced (the handover rule), so a new
provider reading the message sees that the client was copied. The recipients are exactly the
``To`` and ``Cc`` addresses; :func:`check_required_recipients` is the hook callers use to
enforce "the client is always a recipient", and :func:`evidence_kit.notify.smtp.send_message`
applies it again to what the server accepted.

The message is built 7-bit clean (quoted-printable or base64 bodies, RFC 2047 headers), so any
server takes it without 8BITMIME; attachments are base64 and arrive byte for byte.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from evidence_kit.notify.errors import NotifyInputError, RecipientPolicyError

# SMTP line endings, and 7-bit content transfer encodings chosen by set_content.
POLICY = email.policy.SMTP.clone(cte_type="7bit")

_ADDR_SPEC = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")


@dataclass(frozen=True)
class Attachment:
    """A file carried by the message: its name, its exact bytes, and its media type."""

    filename: str
    data: bytes = field(repr=False)
    media_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        if not self.filename or any(c in self.filename for c in "/\\\r\n\0"):
            raise NotifyInputError("message", f"attachment name {self.filename!r} is not a plain file name",
                                   "attachments")
        if not _MEDIA_TYPE.fullmatch(self.media_type):
            raise NotifyInputError("message", f"media type {self.media_type!r} is not type/subtype", "attachments")


def parse_address(text: str, *, file: str = "message", where: str = "address") -> Address:
    """``"Name <user@host>"`` or ``user@host`` as an :class:`Address`; anything else is refused.

    Only plain ASCII addresses: an internationalized one (SMTPUTF8) would be refused by many
    relays mid-send, so it is refused here, before anything is sent.
    """
    if not isinstance(text, str) or any(c in text for c in "\r\n\0"):
        raise NotifyInputError(file, "must be one e-mail address on one line", where)
    name, spec = parseaddr(text)
    if not spec.isascii() or not _ADDR_SPEC.fullmatch(spec):
        raise NotifyInputError(file, f"{text!r} is not an e-mail address (user@domain)", where)
    local, _, domain = spec.rpartition("@")
    try:
        return Address(display_name=name, username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise NotifyInputError(file, f"{text!r} is not an e-mail address ({exc})", where)


def _addresses(values: Sequence[str], where: str) -> list[Address]:
    if isinstance(values, str):
        values = [values]
    return [parse_address(v, where=f"{where}[{i}]") for i, v in enumerate(values)]


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    text: str,
    cc: Sequence[str] = (),
    html: str | None = None,
    attachments: Iterable[Attachment] = (),
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """The message, with a fresh ``Message-ID`` in the sender's domain and a UTC ``Date``.

    ``html``, when given, is the alternative to ``text`` (clients show one of the two).
    ``headers`` adds more fields (e.g. ``Auto-Submitted: auto-generated`` for alerts).
    A field that would break the message (a line break in the subject, a bad address) is a
    :class:`NotifyInputError` naming it.
    """
    from_addr = parse_address(sender, where="from")
    to_addrs, cc_addrs = _addresses(to, "to"), _addresses(cc, "cc")
    if not to_addrs:
        raise NotifyInputError("message", "needs at least one recipient", "to")
    msg = EmailMessage(policy=POLICY)
    try:
        msg["From"] = from_addr
        msg["To"] = to_addrs
        if cc_addrs:
            msg["Cc"] = cc_addrs
        if reply_to:
            msg["Reply-To"] = parse_address(reply_to, where="reply_to")
        msg["Subject"] = subject
        msg["Date"] = format_datetime(date or datetime.now(UTC))
        msg["Message-ID"] = make_msgid(domain=from_addr.domain)
        for name, value in (headers or {}).items():
            msg[name] = value
    except ValueError as exc:
        raise NotifyInputError("message", f"header not allowed: {exc}", "headers")
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for att in attachments:
        maintype, subtype = att.media_type.split("/", 1)
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg


def message_recipients(msg: EmailMessage) -> tuple[str, ...]:
    """The bare addresses of ``To`` and ``Cc``, in order, each once (compared case-insensitively)."""
    seen: dict[str, str] = {}
    fields = [str(v) for name in ("To", "Cc") for v in msg.get_all(name, [])]
    for _, spec in getaddresses(fields):
        if spec and spec.casefold() not in seen:
            seen[spec.casefold()] = spec
    return tuple(seen.values())


def check_required_recipients(recipients: Iterable[str], required: Iterable[str]) -> None:
    """Refuse unless every ``required`` address is among ``recipients`` (case-insensitive).

    Case-insensitive because mail systems treat ``Client@X`` and ``client@x`` as one mailbox in
    practice; a display name (``"Contoso <it@contoso.example>"``) is allowed on either side.
    """
    have = {parseaddr(r)[1].casefold() for r in recipients}
    missing = [r for r in required if parseaddr(r)[1].casefold() not in have]
    if missing:
        raise RecipientPolicyError(
            f"refused to send: required recipient(s) {', '.join(missing)} not among the recipients "
            f"({', '.join(sorted(have)) or 'none'}); nothing was sent"
        )
