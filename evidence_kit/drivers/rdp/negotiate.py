"""RDP security negotiation and the server's TLS certificate, before any credential is sent.

An RDP connection starts with an X.224 Connection Request carrying an ``RDP_NEG_REQ`` (the
protocols the client can do: TLS, CredSSP/NLA); the server answers with an ``RDP_NEG_RSP``
(the one it picked) or an ``RDP_NEG_FAILURE`` (why not), then -- for TLS and NLA -- the TLS
handshake runs on the same socket. :func:`probe` does exactly that much and closes: the
certificate is then in hand (recorded, pinned, judged by :mod:`evidence_kit.drivers.tls`), and
the security mode the server chose is known, while the server has seen no user name and no
password. The client run (:mod:`evidence_kit.drivers.rdp.freerdp`) is then told to accept that very
certificate and nothing else, so what was judged is what the credential is sent to.

Wire format: [MS-RDPBCGR] 2.2.1.1 (request) and 2.2.1.2 (response); TPKT is RFC 1006.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from dataclasses import dataclass

from evidence_kit.drivers.tls import TlsInfo, info_from_socket, verify_chain
from evidence_kit.errors import EvidenceKitError

PROTOCOL_RDP = 0x0  # "standard RDP security": no TLS, no server authentication
PROTOCOL_SSL = 0x1
PROTOCOL_HYBRID = 0x2  # CredSSP (NLA)
PROTOCOL_RDSTLS = 0x4
PROTOCOL_HYBRID_EX = 0x8  # CredSSP with Early User Authorization Result PDU

# What a security mode is called in our records and on xfreerdp's command line (/sec:...).
SECURITY_NAMES = {PROTOCOL_RDP: "rdp", PROTOCOL_SSL: "tls", PROTOCOL_HYBRID: "nla", PROTOCOL_HYBRID_EX: "nla",
                  PROTOCOL_RDSTLS: "rdstls"}
REQUESTS = {"tls": PROTOCOL_SSL, "nla": PROTOCOL_HYBRID | PROTOCOL_SSL}

# [MS-RDPBCGR] 2.2.1.2.2 RDP_NEG_FAILURE failureCode, in words.
NEG_FAILURES = {
    0x1: "SSL_REQUIRED_BY_SERVER: the server requires TLS",
    0x2: "SSL_NOT_ALLOWED_BY_SERVER: the server allows only standard RDP security",
    0x3: "SSL_CERT_NOT_ON_SERVER: the server has no certificate for TLS",
    0x4: "INCONSISTENT_FLAGS: the server found the request inconsistent",
    0x5: "HYBRID_REQUIRED_BY_SERVER: the server requires NLA (CredSSP)",
    0x6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER: the server requires TLS with a client certificate",
}


class RdpProbeError(EvidenceKitError):
    """The RDP negotiation did not get as far as a certificate.

    ``kind`` is the outcome a driver records: ``unreachable`` (no TCP connection), ``timeout``
    (connected, no answer in time), ``refused`` (the server answered RDP_NEG_FAILURE: ``reason``
    says why), ``protocol`` (the far end is not speaking RDP, or not in a way we accept).
    """

    exit_code = 1

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RdpProbe:
    """What the server said before authentication."""

    host: str
    port: int
    requested: int  # the RDP_NEG_REQ requestedProtocols bit mask we sent
    selected: int  # the protocol the server picked (PROTOCOL_*)
    security: str  # "tls" | "nla" (the /sec: the client run must use)
    server_flags: int  # RDP_NEG_RSP flags (EXTENDED_CLIENT_DATA_SUPPORTED, ...)
    tls: TlsInfo  # the chain the server presented, with the offline verdict of the system store
    elapsed: float  # seconds from connect to the end of the handshake

    def record(self) -> dict[str, object]:
        """The journal form (the PEM chain itself is an artifact: ``tls.chain_pem()``)."""
        return {
            "host": self.host, "port": self.port, "requested_protocols": self.requested,
            "selected_protocol": self.selected, "security": self.security,
            "server_flags": self.server_flags, "tls": self.tls.record(),
            "elapsed_s": round(self.elapsed, 3),
        }


def connection_request(requested: int, cookie: str | None = None) -> bytes:
    """TPKT + X.224 Connection Request + RDP_NEG_REQ (``cookie``: the optional mstshash line)."""
    neg = struct.pack("<BBHI", 0x01, 0x00, 8, requested)
    extra = f"Cookie: mstshash={cookie}\r\n".encode("ascii") if cookie else b""
    x224 = struct.pack(">BBHHB", 6 + len(extra) + len(neg), 0xE0, 0, 0, 0) + extra + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def parse_confirm(data: bytes) -> tuple[int, int | None, int]:
    """Parse the Connection Confirm: ``(type, value, flags)``.

    ``type`` is 2 (RDP_NEG_RSP: value = selected protocol), 3 (RDP_NEG_FAILURE: value =
    failure code) or 0 (no negotiation data: a server that knows only standard RDP security).
    Raises :class:`ValueError` on anything that is not an X.224 Connection Confirm.
    """
    if len(data) < 11 or data[0] != 3:
        raise ValueError("not a TPKT packet")
    length = struct.unpack(">H", data[2:4])[0]
    if length != len(data) or data[5] & 0xF0 != 0xD0:
        raise ValueError("not an X.224 Connection Confirm")
    body = data[11:]
    if len(body) < 8:
        return 0, None, 0
    kind, flags, neg_len, value = struct.unpack("<BBHI", body[:8])
    if neg_len != 8 or kind not in (2, 3):
        raise ValueError(f"unexpected negotiation data (type {kind}, length {neg_len})")
    return kind, value, flags


def _recv_tpkt(sock: socket.socket) -> bytes:
    head = _recv_exact(sock, 4)
    if head[0] != 3:
        raise ValueError(f"not a TPKT packet (first byte 0x{head[0]:02x})")
    length = struct.unpack(">H", head[2:4])[0]
    if not 11 <= length <= 64:
        raise ValueError(f"implausible Connection Confirm length {length}")
    return head + _recv_exact(sock, length - 4)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buf += chunk
    return buf


def probe(host: str, port: int = 3389, *, request: str = "nla", timeout: float = 10.0,
          cafile: str | None = None) -> RdpProbe:
    """Negotiate security and complete the TLS handshake; send nothing else.

    ``request``: ``"nla"`` offers CredSSP and TLS (the server picks), ``"tls"`` offers TLS only
    (to find out whether the server still allows logons without NLA). Raises
    :class:`RdpProbeError` when no certificate could be had.
    """
    if request not in REQUESTS:
        raise ValueError(f"request must be one of {sorted(REQUESTS)}")
    requested = REQUESTS[request]
    start = time.monotonic()
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise RdpProbeError("unreachable", f"{host}:{port}: no TCP answer within {timeout:g} s")
    except OSError as exc:
        raise RdpProbeError("unreachable", f"{host}:{port}: {exc.strerror or exc}")
    try:
        raw.settimeout(max(0.1, timeout - (time.monotonic() - start)))
        try:
            raw.sendall(connection_request(requested))
            kind, value, flags = parse_confirm(_recv_tpkt(raw))
        except TimeoutError:
            raise RdpProbeError("timeout", f"{host}:{port}: connected, but no RDP answer within {timeout:g} s")
        except (ConnectionError, OSError) as exc:
            raise RdpProbeError("protocol", f"{host}:{port}: connection closed during RDP negotiation ({exc})")
        except ValueError as exc:
            raise RdpProbeError("protocol", f"{host}:{port}: not an RDP server: {exc}")
        if kind == 0:
            raise RdpProbeError("protocol", f"{host}:{port}: the server offers only standard RDP security "
                                "(no TLS, the server cannot be authenticated)")
        if kind == 3:
            why = NEG_FAILURES.get(value or 0, f"failure code 0x{value or 0:x}")
            raise RdpProbeError("refused", f"{host}:{port}: the server refused the negotiation: {why}")
        selected = value or 0
        if selected not in (PROTOCOL_SSL, PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX):
            raise RdpProbeError("protocol", f"{host}:{port}: the server selected protocol 0x{selected:x}, "
                                "which was not offered")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # judged offline below and by the caller's trust rule
        ctx.minimum_version = ssl.TLSVersion.TLSv1  # old servers: recorded, not refused here
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        try:
            with ctx.wrap_socket(raw, server_hostname=None, do_handshake_on_connect=True) as tls_sock:
                unverified = info_from_socket(tls_sock, host, port, None, verified=False)
        except TimeoutError:
            raise RdpProbeError("timeout", f"{host}:{port}: no TLS handshake within {timeout:g} s")
        except (ssl.SSLError, OSError) as exc:
            raise RdpProbeError("protocol", f"{host}:{port}: TLS handshake failed: {exc}")
    finally:
        raw.close()
    ok, verify_error = verify_chain(unverified.chain_der, host, cafile)
    tls = TlsInfo(
        host=unverified.host, port=unverified.port, server_name=None, peer_ip=unverified.peer_ip,
        peer_port=unverified.peer_port, protocol=unverified.protocol, cipher=unverified.cipher,
        chain_der=unverified.chain_der, verified=ok, verify_error=verify_error,
    )
    return RdpProbe(host=host, port=port, requested=requested, selected=selected,
                    security=SECURITY_NAMES[selected], server_flags=flags, tls=tls,
                    elapsed=time.monotonic() - start)
