"""TLS identity capture and pinning against a real TLS server (Python's ssl on 127.0.0.1)."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest

from evidence_kit.drivers.tls import check_pin, colon_form, fetch_chain, normalize_fingerprint


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder: Path = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "router.test")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(ca_key, hashes.SHA256()))
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    (folder / "chain.pem").write_bytes(pem(leaf) + pem(ca))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "ca.pem").write_bytes(pem(ca))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(folder / "chain.pem", folder / "key.pem")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    der = lambda c: c.public_bytes(serialization.Encoding.DER)  # noqa: E731
    yield {"port": sock.getsockname()[1], "leaf": hashlib.sha256(der(leaf)).hexdigest(),
           "ca_sha": hashlib.sha256(der(ca)).hexdigest(), "ca_file": str(folder / "ca.pem")}
    stop.set()
    t.join()
    sock.close()


def test_untrusted_chain_recorded_whole_with_the_reason(tls_server) -> None:  # type: ignore[no-untyped-def]
    info = fetch_chain("127.0.0.1", tls_server["port"])
    assert not info.verified and info.verify_error
    assert info.leaf_sha256 == tls_server["leaf"]
    assert [c.sha256 for c in info.certificates()] == [tls_server["leaf"], tls_server["ca_sha"]]
    assert info.chain_pem().count(b"BEGIN CERTIFICATE") == 2
    rec = info.record()
    assert rec["peer_ip"] == "127.0.0.1" and rec["protocol"].startswith("TLS") and not rec["self_signed"]
    assert rec["chain"][0]["san"] == ["127.0.0.1"]


def test_trusted_chain_with_the_ca(tls_server) -> None:  # type: ignore[no-untyped-def]
    info = fetch_chain("127.0.0.1", tls_server["port"], cafile=tls_server["ca_file"])
    assert info.verified and info.verify_error is None


def test_pin_forms_and_mismatch(tls_server) -> None:  # type: ignore[no-untyped-def]
    info = fetch_chain("127.0.0.1", tls_server["port"])
    leaf = tls_server["leaf"]
    assert check_pin(info, None).ok and not check_pin(info, None).pinned
    assert check_pin(info, colon_form(leaf)).ok
    assert check_pin(info, "sha256:" + leaf.upper()).ok
    bad = check_pin(info, "00" * 32)
    assert bad.pinned and not bad.ok and "does not match" in bad.describe()
    assert normalize_fingerprint("SHA256:AB:cd") == "abcd"


def test_connection_refused_is_an_oserror() -> None:
    from tests.helpers import free_port

    with pytest.raises(OSError):
        fetch_chain("127.0.0.1", free_port(), timeout=2)
