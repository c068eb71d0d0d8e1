"""The RDP pre-authentication probe against real servers: security mode, certificate, failures."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from evidence_kit.drivers.rdp.negotiate import (
    PROTOCOL_HYBRID,
    PROTOCOL_SSL,
    RdpProbeError,
    connection_request,
    parse_confirm,
    probe,
)


def test_connection_request_layout() -> None:
    data = connection_request(PROTOCOL_SSL | PROTOCOL_HYBRID)
    assert data[:4] == b"\x03\x00\x00\x13"  # TPKT, 19 bytes
    assert data[5] == 0xE0  # X.224 Connection Request
    assert struct.unpack("<BBHI", data[-8:]) == (1, 0, 8, 3)


def test_parse_confirm_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_confirm(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert parse_confirm(b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x01\x08\x00\x02\x00\x00\x00") == (2, 2, 1)


def test_xrdp_tls_certificate_matches_the_servers_file(xrdp_server) -> None:
    got = probe(xrdp_server.host, xrdp_server.port, timeout=5)
    assert got.security == "tls" and got.selected == PROTOCOL_SSL
    assert got.tls.leaf_sha256 == xrdp_server.cert_sha256
    assert not got.tls.verified and got.tls.verify_error  # self-signed: recorded, judged by the caller
    assert got.record()["tls"]["leaf_sha256"] == xrdp_server.cert_sha256


def test_shadow_picks_nla_and_refuses_tls_only(rdp_shadow) -> None:
    got = probe(rdp_shadow.host, rdp_shadow.port, timeout=5)
    assert got.security == "nla" and got.selected == PROTOCOL_HYBRID
    assert got.tls.leaf_sha256 == rdp_shadow.cert_sha256
    with pytest.raises(RdpProbeError) as err:
        probe(rdp_shadow.host, rdp_shadow.port, request="tls", timeout=5)
    assert err.value.kind == "refused" and "HYBRID_REQUIRED_BY_SERVER" in err.value.message


def test_probe_sends_no_user_name(xrdp_server) -> None:
    mark = xrdp_server.log_mark()
    probe(xrdp_server.host, xrdp_server.port, timeout=5)
    deadline = time.monotonic() + 3
    while "selected [SSL]" not in (seen := xrdp_server.log_since(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "selected [SSL]" in seen  # xrdp saw the negotiation...
    assert not any(a.username in seen for a in xrdp_server.accounts.values())  # ...and no user name


def test_closed_port_is_unreachable(xrdp_server) -> None:
    with pytest.raises(RdpProbeError) as err:
        probe("127.0.0.1", xrdp_server.closed_port, timeout=3)
    assert err.value.kind == "unreachable"


def test_silent_port_times_out(xrdp_server) -> None:
    with pytest.raises(RdpProbeError) as err:
        probe("127.0.0.1", xrdp_server.silent_port, timeout=1)
    assert err.value.kind == "timeout"


def test_not_rdp_is_a_protocol_error() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)

        def answer() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.recv(64)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        with pytest.raises(RdpProbeError) as err:
            probe("127.0.0.1", srv.getsockname()[1], timeout=3)
        thread.join(3)
    assert err.value.kind == "protocol"
