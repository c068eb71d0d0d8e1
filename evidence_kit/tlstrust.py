"""Whether a captured TLS chain may be used: pin, system trust store, or ``allow_self_signed``.

Complements :mod:`evidence_kit.tlsinfo` (which captures the chain): a driver that wrapped the
socket itself without verification (ldap3 for LDAPS / StartTLS) verifies the captured chain
here, offline, against the same system trust store Python's ``ssl`` uses, then decides:

1. a pinned fingerprint decides alone: match -> accepted, mismatch -> refused;
2. otherwise a chain the system trusts for this host name -> accepted;
3. otherwise accepted only when the inventory sets ``allow_self_signed`` (any certificate the
   system does not trust: self-signed or from a private CA), and recorded as such.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence_kit.tlsinfo import TlsInfo, check_pin, colon_form

SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem",
)


@functools.lru_cache(maxsize=4)
def _store(cafile: str | None) -> Any:
    from cryptography import x509
    from cryptography.x509.verification import Store

    paths = ssl.get_default_verify_paths()
    candidates = [cafile] if cafile else [paths.cafile, paths.openssl_cafile, *SYSTEM_BUNDLES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            certs = []
            # One by one: a single odd CA in the bundle must not void the whole store.
            for block in Path(candidate).read_bytes().split(b"-----END CERTIFICATE-----"):
                if b"-----BEGIN CERTIFICATE-----" in block:
                    try:
                        certs.append(x509.load_pem_x509_certificate(block + b"-----END CERTIFICATE-----\n"))
                    except ValueError:
                        continue
            if certs:
                return Store(certs)
    return None


def verify_chain(chain_der: list[bytes], host: str, cafile: str | None = None) -> tuple[bool, str | None]:
    """Verify a server chain (leaf first) for ``host`` now: ``(True, None)`` or ``(False, reason)``."""
    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, VerificationError

    if not chain_der:
        return False, "the server sent no certificate"
    store = _store(cafile)
    if store is None:
        return False, "no system trust store found"
    try:
        certs = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError as exc:
        return False, f"unparsable certificate: {exc}"
    try:
        subject: x509.DNSName | x509.IPAddress = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    verifier = PolicyBuilder().store(store).time(datetime.now(UTC)).build_server_verifier(subject)
    try:
        verifier.verify(certs[0], certs[1:])
    except VerificationError as exc:
        return False, str(exc)
    return True, None


@dataclass(frozen=True)
class TrustDecision:
    accepted: bool
    basis: str  # "pinned", "system_trust", "allow_self_signed", "pin_mismatch", "untrusted"
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "basis": self.basis, "reason": self.reason}


def judge(info: TlsInfo, pinned: str | None, allow_self_signed: bool) -> TrustDecision:
    """Decide from a captured chain (``info.verified`` already set) and the target's settings."""
    pin = check_pin(info, pinned)
    if pin.pinned:
        return TrustDecision(pin.ok, "pinned" if pin.ok else "pin_mismatch", pin.describe())
    if info.verified:
        return TrustDecision(True, "system_trust", "certificate chain trusted by the system trust store")
    what = "self-signed certificate" if info.self_signed else "certificate not trusted by the system"
    why = f"{what} ({info.verify_error})" if info.verify_error else what
    if allow_self_signed:
        return TrustDecision(
            True, "allow_self_signed", f"{why}; accepted because the target sets allow_self_signed"
        )
    return TrustDecision(
        False, "untrusted",
        f"{why}; pin it with 'certificate: {colon_form(info.leaf_sha256)}' or set 'allow_self_signed: true'",
    )
