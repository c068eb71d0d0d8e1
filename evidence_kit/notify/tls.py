"""How a notification channel trusts the server it sends to: system store, a CA file, or a pin.

Mail relays and webhook receivers inside an MSP often carry a private-CA or self-signed
certificate. The rules follow :mod:`evidence_kit.drivers.tls`, applied *during* the handshake so
that nothing (no AUTH, no message, no request) is sent to a server that is not accepted:

1. ``pin_sha256`` set: the leaf certificate's SHA-256 decides alone (match -> accepted,
   anything else -> refused); the chain and the name are not checked.
2. otherwise the chain must verify against ``cafile`` (or the system trust store when it is
   not given) and the certificate must name the host (or ``server_name``).

TLS 1.2 is the minimum either way.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from evidence_kit.drivers.tls import cert_sha256, colon_form, normalize_fingerprint
from evidence_kit.notify.errors import NotifyInputError


@dataclass(frozen=True)
class TlsSettings:
    """Server certificate trust for one channel.

    ``cafile``: PEM file of CA (or self-signed server) certificates to trust instead of the
    system store. ``pin_sha256``: the leaf certificate's SHA-256 (hex, colons and a
    ``sha256:`` prefix allowed), which replaces chain and name checks. ``server_name``: the
    name to send as SNI and to check, when connecting by address to a server named otherwise.
    """

    cafile: Path | None = None
    pin_sha256: str | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if self.pin_sha256 is not None and len(normalize_fingerprint(self.pin_sha256)) != 64:
            raise NotifyInputError("tls settings", "must be a SHA-256 fingerprint (64 hex digits)", "pin_sha256")

    @property
    def pinned(self) -> str | None:
        return normalize_fingerprint(self.pin_sha256) if self.pin_sha256 else None


def client_context(tls: TlsSettings) -> ssl.SSLContext:
    """The client context for ``tls``; an unreadable CA file is a one-line input error."""
    if tls.pinned:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the pin is checked on the leaf right after the handshake
    else:
        try:
            ctx = ssl.create_default_context(cafile=str(tls.cafile) if tls.cafile else None)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc.__class__.__name__
            raise NotifyInputError(str(tls.cafile), f"cannot load CA certificates: {reason}", "cafile")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def peer_sha256(sock: ssl.SSLSocket) -> str:
    """SHA-256 (hex) of the certificate the server presented, verified or not."""
    der = sock.getpeercert(binary_form=True)
    return cert_sha256(der) if der else ""


def pin_problem(tls: TlsSettings, actual: str) -> str | None:
    """None when the pin (if any) matches; otherwise the one-line reason, both fingerprints named."""
    expected = tls.pinned
    if expected is None or expected == actual:
        return None
    return (
        f"server certificate SHA-256 {colon_form(actual) or '(none)'} does not match the pinned "
        f"{colon_form(expected)}"
    )


def describe_tls_failure(exc: ssl.SSLError) -> str:
    """One line for a failed handshake; for an untrusted certificate, how to trust it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or exc.reason or "verification failed"
        return f"server certificate not accepted ({why}); to trust it, give a CA file or pin its SHA-256"
    return f"TLS handshake failed ({exc.reason or exc.__class__.__name__})"
