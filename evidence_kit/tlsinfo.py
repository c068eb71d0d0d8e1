"""TLS server identity: the certificate chain a server presents, its leaf fingerprint, pinning.

Shared by the web driver (HTTPS portals) and the directory driver (LDAPS / StartTLS):

    info = fetch_chain("10.0.0.254", 443)              # direct TLS
    info = info_from_socket(sslsock, host, port, ...)  # a socket someone else wrapped (StartTLS)
    check_pin(info, target.certificate)                # PinCheck(ok, expected, actual)
    info.chain_pem()                                   # bytes for the certificate_chain artifact
    info.record()                                      # dict for the journal's ``tls`` event

The chain is what the server sent (``get_unverified_chain``), trusted or not: self-signed
router certificates are recorded all the same; whether they may be used is the caller's call.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from dataclasses import dataclass, field
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
    cafile: str | None = None,
) -> TlsInfo:
    """Connect, handshake, and describe the server's TLS identity.

    First with verification (system trust store, host name checked); when that fails for a
    certificate reason, once more without, so an untrusted chain is still recorded with the
    reason. Connection errors (``OSError``, ``TimeoutError``) go to the caller.
    """
    sni = server_name or (None if _is_ip(host) else host)
    verify_ctx = ssl.create_default_context(cafile=cafile)
    if sni is None:
        verify_ctx.check_hostname = True  # IP addresses are checked against the SAN too
    try:
        return _handshake(host, port, sni or host, verify_ctx, timeout, verified=True)
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
    except ssl.CertificateError as exc:  # pragma: no cover - older Pythons
        reason = str(exc)
    open_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    open_ctx.check_hostname = False
    open_ctx.verify_mode = ssl.CERT_NONE
    return _handshake(host, port, sni, open_ctx, timeout, verified=False, verify_error=reason)


def _handshake(
    host: str, port: int, sni: str | None, ctx: ssl.SSLContext, timeout: float, verified: bool,
    verify_error: str | None = None,
) -> TlsInfo:
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as sock:
            return info_from_socket(sock, host, port, sni, verified, verify_error)
