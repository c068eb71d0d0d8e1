"""``handover --mail``: the transmittal in writing, the client always among the recipients.

Sent through :func:`evidence_kit.notify.smtp.send_message` (STARTTLS by default, one AUTH
attempt, the client passed as ``required_recipients`` so a message without the client, or one
whose client address the server refuses, is never sent). The new provider is ``To``, the client
``Cc``; there is no ``Bcc``, so every recipient sees who else got it. Attached: the letter (PDF
and HTML), ``transmittal.json`` with its signature, time-stamps and signer key, and the
archive's public receipt; with ``attach_encrypted`` also the evidence archive and the credential
package, which are age-encrypted (the only attachments that carry a secret, and encrypted).
The SMTP password is a secret reference (``env:``, ``file:``, ``prompt``, ``keepass:``), resolved
before anything else happens, so a missing one stops the handover before it seals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.errors import EvidenceKitError, UsageError
from evidence_kit.handover.model import HandoverResult
from evidence_kit.notify.message import Attachment, build_message, parse_address
from evidence_kit.notify.smtp import SmtpDelivery, SmtpSettings, send_message
from evidence_kit.notify.tls import TlsSettings
from evidence_kit.secrets import SecretRef, SecretResolver

MEDIA = {".pdf": "application/pdf", ".html": "text/html", ".json": "application/json", ".pem": "application/x-pem-file",
         ".tsr": "application/timestamp-reply", ".sig": "application/octet-stream", ".age": "application/octet-stream"}


class MailNotSent(EvidenceKitError):
    """Sending failed after the handover was made and journaled: says so, with the cause's exit code."""

    def __init__(self, cause: EvidenceKitError, output: Path) -> None:
        super().__init__(f"{cause.one_line()}; the handover in {output} is complete and journaled, but the mail was "
                         "not sent (send its files by other means, or hand over again with --mail)")
        self.exit_code = cause.exit_code


@dataclass(frozen=True)
class MailOptions:
    sender: str
    to: tuple[str, ...]
    client: tuple[str, ...]  # the client's addresses: always Cc, and required
    host: str
    port: int | None = None
    security: str = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    cafile: Path | None = None
    pin_sha256: str | None = None
    server_name: str | None = None
    timeout: float = 30.0
    attach_encrypted: bool = False
    helo_name: str | None = None

    def check(self) -> None:
        """Refuse before anything is made: no client address, a bad address, half an AUTH."""
        if not self.client:
            raise UsageError("--mail needs --client-email ADDRESS: the client is always among the recipients "
                             "of what the tool sends")
        if not self.to:
            raise UsageError("--mail needs --mail-to ADDRESS (the authorized recipient's address)")
        for where, values in (("--mail-from", (self.sender,)), ("--mail-to", self.to), ("--client-email", self.client)):
            for value in values:
                parse_address(value, file=where, where="address")
        if (self.username is None) != (self.password is None):
            raise UsageError("--smtp-user and --smtp-password go together")


def settings(options: MailOptions, resolver: SecretResolver) -> SmtpSettings:
    """The SMTP settings, with the password resolved from its reference (never a literal)."""
    password = resolver.resolve(options.password, "--smtp-password") if options.password else None
    return SmtpSettings(
        host=options.host, port=options.port, security=options.security,  # type: ignore[arg-type]
        username=options.username, password=password, timeout=options.timeout, helo_name=options.helo_name,
        tls=TlsSettings(cafile=options.cafile, pin_sha256=options.pin_sha256, server_name=options.server_name),
    )


def _text(body: dict[str, Any]) -> str:
    lines = [
        f"Transmittal {body['transmittal_id']}",
        f"From {body['case']['provider']} ({body['case']['technician']}) to {body['case']['client']}, "
        f"copy to {', '.join(sorted({r['name'] for r in body['recipients'] if r['role'] != 'client'})) or 'nobody'}.",
        "",
        f"Handed over: {len(body['items'])} credential(s), in the encrypted credential package "
        f"{body['credential_package']['file']} (sha256 {body['credential_package']['sha256']}), with the sealed "
        f"evidence archive {body['evidence']['file']} (sha256 {body['evidence']['sha256']}).",
        "",
        *[f"  {c['target']}: {c['kind']} {c['address']}, user {c['username'] or '-'}, outcome at handover "
          f"{c['outcome'] or 'never captured'}" + ("" if c["delivered_equals_tested"] else " (NOT as tested)")
          for c in body["items"]],
        "",
        "The letter (transmittal.pdf / .html) and its signed counterpart (transmittal.json, with",
        "transmittal.json.sig and its time-stamps) are attached. Check the signature with",
        "  openssl pkeyutl -verify -pubin -inkey signer-public.pem -rawin -in transmittal.json \\",
        "      -sigfile transmittal.json.sig",
        "and acknowledge receipt with `evidence-kit acknowledge transmittal.json --sign-key KEY`",
        "(an OpenSSH key signs as ssh-keygen -Y sign does).",
    ]
    return "\n".join(lines) + "\n"


def send(options: MailOptions, smtp: SmtpSettings, body: dict[str, Any], result: HandoverResult) -> SmtpDelivery:
    names = [f.name for f in result.files if f.role in ("letter", "transmittal", "receipt")]
    if options.attach_encrypted:
        names += [f.name for f in result.files if f.role in ("evidence", "credential package")]
    attachments = [Attachment(n, (result.output / n).read_bytes(),
                              MEDIA.get(Path(n).suffix, "application/octet-stream")) for n in names]
    msg = build_message(
        sender=options.sender, to=list(options.to), cc=list(options.client),
        subject=f"Credential handover: {body['case']['client']} (case {body['case']['case_id']})",
        text=_text(body), attachments=attachments,
        headers={"X-Evidence-Kit-Transmittal": body["transmittal_id"]},
    )
    return send_message(msg, smtp, required_recipients=list(options.client))
