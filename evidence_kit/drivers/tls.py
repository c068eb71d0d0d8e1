"""TLS server identity and trust, for every driver that meets a TLS server (web, LDAP, RDP)
and for the notification senders.

What the server presented — the certificate chain, its leaf fingerprint, a pin check::

    info = fetch_chain("10.0.0.254", 443)              # direct TLS
    info = info_from_socket(sslsock, host, port, ...)  # a socket someone else wrapped (StartTLS)
    check_pin(info, target.certificate)                # PinCheck(ok, expected, actual)
    info.chain_pem()                                   # bytes for the certificate_chain artifact
    info.record()                                      # dict for the journal's ``tls`` event

The chain is what the server sent (``get_unverified_chain``), trusted or not: self-signed
router certificates are recorded all the same.

Whether it may be used is decided once, by :func:`judge`, for every driver: a driver that
wrapped the socket itself without verification (ldap3 for LDAPS / StartTLS) verifies the
captured chain here, offline, against the same system trust store Python's ``ssl`` uses:

1. a pinned fingerprint decides alone: match -> accepted, mismatch -> refused;
2. otherwise a chain the system trusts for this host name -> accepted;
3. otherwise accepted only when the inventory sets ``allow_self_signed`` (any certificate the
   system does not trust: self-signed or from a private CA), and recorded as such.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class CertSummary:
    subject: str
    issuer: str
    not_before: str
    not_after: str
    serial: str
    sha256: str
    san: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject, "issuer": self.issuer, "not_before": self.not_before,
            "not_after": self.not_after, "serial": self.serial, "sha256": self.sha256, "san": self.san,
        }


@dataclass
class TlsInfo:
    host: str
    port: int
    server_name: str | None
    peer_ip: str
    peer_port: int
    protocol: str
    cipher: str
    chain_der: list[bytes]
    verified: bool
    verify_error: str | None = None

    @property
    def leaf_sha256(self) -> str:
        return cert_sha256(self.chain_der[0]) if self.chain_der else ""

    @property
    def self_signed(self) -> bool:
        if not self.chain_der:
            return False
        leaf = summarize(self.chain_der[0])
        return leaf.subject == leaf.issuer

    def chain_pem(self) -> bytes:
        return b"".join(ssl.DER_cert_to_PEM_cert(der).encode("ascii") for der in self.chain_der)

    def certificates(self) -> list[CertSummary]:
        return [summarize(der) for der in self.chain_der]

    def record(self) -> dict[str, Any]:
        """The journal form: everything except the PEM itself (that is an artifact)."""
        return {
            "host": self.host, "port": self.port, "server_name": self.server_name,
            "peer_ip": self.peer_ip, "peer_port": self.peer_port, "protocol": self.protocol,
            "cipher": self.cipher, "verified": self.verified, "verify_error": self.verify_error,
            "self_signed": self.self_signed, "leaf_sha256": self.leaf_sha256,
            "leaf_sha256_colons": colon_form(self.leaf_sha256),
            "chain": [c.as_dict() for c in self.certificates()],
        }


def cert_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def normalize_fingerprint(value: str) -> str:
    """Lower-case hex without colons or a ``sha256:`` prefix (the form pins are compared in)."""
    return re.sub(r"[^0-9a-f]", "", value.lower().removeprefix("sha256:"))


def colon_form(hexdigest: str) -> str:
    """``AB:CD:...``: the form browsers and ``openssl x509 -fingerprint`` show."""
    h = hexdigest.upper()
    return ":".join(h[i : i + 2] for i in range(0, len(h), 2))


@dataclass(frozen=True)
class PinCheck:
    pinned: bool
    ok: bool
    expected: str | None
    actual: str

    def describe(self) -> str:
        if not self.pinned:
            return "certificate not pinned"
        if self.ok:
            return f"certificate matches the pinned fingerprint {colon_form(self.actual)}"
        return (
            f"certificate fingerprint {colon_form(self.actual)} does not match the pinned "
            f"{colon_form(self.expected or '')}"
        )


def check_pin(info: TlsInfo | str, pinned: str | None) -> PinCheck:
    actual = info.leaf_sha256 if isinstance(info, TlsInfo) else normalize_fingerprint(info)
    if not pinned:
        return PinCheck(False, True, None, actual)
    expected = normalize_fingerprint(pinned)
    return PinCheck(True, expected == actual, expected, actual)


def summarize(der: bytes) -> CertSummary:
    from cryptography import x509  # lazy: only TLS targets need it

    cert = x509.load_der_x509_certificate(der)
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        san = [str(v) for v in san_ext.value.get_values_for_type(x509.DNSName)]
        san += [str(v) for v in san_ext.value.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        san = []
    return CertSummary(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
        not_after=cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        serial=format(cert.serial_number, "x"),
        sha256=cert_sha256(der),
        san=san,
    )


def _chain_of(sock: ssl.SSLSocket) -> list[bytes]:
    # Python 3.13 has SSLSocket.get_unverified_chain(); 3.10-3.12 have it on the C object.
    getter = getattr(sock, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(sock, "_sslobj", None), "get_unverified_chain", None)
    chain: list[bytes] = []
    if getter is not None:
        import _ssl  # the encoding constant is only public from 3.13 on

        der = getattr(ssl, "ENCODING_DER", getattr(_ssl, "ENCODING_DER", 1))
        for cert in getter() or []:
            chain.append(cert if isinstance(cert, bytes) else cert.public_bytes(der))
    if not chain:
        leaf = sock.getpeercert(binary_form=True)
        if leaf:
            chain = [leaf]
    return chain


def info_from_socket(
    sock: ssl.SSLSocket, host: str, port: int, server_name: str | None, verified: bool,
    verify_error: str | None = None,
) -> TlsInfo:
    """Describe an established TLS connection (the LDAP driver passes its StartTLS socket)."""
    peer = sock.getpeername()
    cipher = sock.cipher()
    return TlsInfo(
        host=host, port=port, server_name=server_name, peer_ip=str(peer[0]), peer_port=int(peer[1]),
        protocol=sock.version() or "", cipher=cipher[0] if cipher else "",
        chain_der=_chain_of(sock), verified=verified, verify_error=verify_error,
    )


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return True
    except OSError:
        return False


def fetch_chain(
    host: str, port: int, server_name: str | None = None, timeout: float = 10.0,
    cafile: str | None = None, address: tuple[str, int] | None = None,
) -> TlsInfo:
    """Connect, handshake, and describe the server's TLS identity.

    First with verification (system trust store, host name checked); when that fails for a
    certificate reason, once more without, so an untrusted chain is still recorded with the
    reason. Connection errors (``OSError``, ``TimeoutError``) go to the caller. ``address`` is
    where to connect when that is not ``host:port`` (a local forward through a jump host or
    proxy, evidence_kit/route/bridge.py); the server name and the checks stay ``host``'s.
    """
    sni = server_name or (None if _is_ip(host) else host)
    verify_ctx = ssl.create_default_context(cafile=cafile)
    if sni is None:
        verify_ctx.check_hostname = True  # IP addresses are checked against the SAN too
    try:
        return _handshake(host, port, sni or host, verify_ctx, timeout, verified=True, address=address)
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
    except ssl.CertificateError as exc:  # pragma: no cover - older Pythons
        reason = str(exc)
    open_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    open_ctx.check_hostname = False
    open_ctx.verify_mode = ssl.CERT_NONE
    return _handshake(host, port, sni, open_ctx, timeout, verified=False, verify_error=reason, address=address)


def _handshake(
    host: str, port: int, sni: str | None, ctx: ssl.SSLContext, timeout: float, verified: bool,
    verify_error: str | None = None, address: tuple[str, int] | None = None,
) -> TlsInfo:
    with socket.create_connection(address or (host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as sock:
            return info_from_socket(sock, host, port, sni, verified, verify_error)

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


def judge_and_record(session: Any, info: TlsInfo, pinned: str | None, allow_self_signed: bool,
                     artifact: str = "certificate-chain.pem") -> tuple[TrustDecision, dict[str, Any]]:
    """Judge a presented chain by the one rule and record it as evidence, before any secret is
    sent: the chain as an artifact, a ``tls`` journal event with the decision, the leaf in the
    identity. ``session`` is the target's session (evidence_kit/case/session.py)."""
    decision = judge(info, pinned, allow_self_signed)
    if info.chain_der:
        session.add_artifact(artifact, info.chain_pem(), kind="certificate_chain",
                             media_type="application/x-pem-file", leaf_sha256=info.leaf_sha256)
    facts = {**info.record(), "trust": decision.as_dict()}
    session.event("tls", facts)
    session.set_identity(certificate_sha256=info.leaf_sha256)
    return decision, facts
