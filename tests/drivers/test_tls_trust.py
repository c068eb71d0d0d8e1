"""drivers/tls.py trust: offline chain verification and the accept/refuse decision, with a CA made here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evidence_kit.drivers.tls import TlsInfo, cert_sha256, colon_form, judge, verify_chain


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("Test Root")).issuer_name(_name("Test Root"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder().subject_name(_name("dc1.corp.example")).issuer_name(ca.subject)
        .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=10))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("dc1.corp.example")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cafile = Path(tmp_path_factory.mktemp("pki")) / "ca.pem"
    cafile.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return {"cafile": str(cafile), "leaf": leaf.public_bytes(serialization.Encoding.DER)}


def _info(der: bytes, verified: bool, error: str | None = None) -> TlsInfo:
    return TlsInfo("dc1.corp.example", 636, "dc1.corp.example", "127.0.0.1", 636, "TLSv1.3", "X", [der],
                   verified, error)


def test_verify_chain_against_a_trust_store(pki: dict[str, object]) -> None:
    leaf, cafile = pki["leaf"], str(pki["cafile"])
    assert isinstance(leaf, bytes)
    assert verify_chain([leaf], "dc1.corp.example", cafile=cafile) == (True, None)
    ok, reason = verify_chain([leaf], "dc2.corp.example", cafile=cafile)
    assert not ok and reason
    ok, reason = verify_chain([leaf], "dc1.corp.example")  # the system store does not know our CA
    assert not ok and reason
    assert verify_chain([], "dc1.corp.example") == (False, "the server sent no certificate")


def test_judge_pin_wins_then_trust_then_allow_self_signed(pki: dict[str, object]) -> None:
    leaf = pki["leaf"]
    assert isinstance(leaf, bytes)
    good = cert_sha256(leaf)
    untrusted = _info(leaf, verified=False, error="unknown issuer")
    assert judge(untrusted, colon_form(good), False).basis == "pinned"
    refused = judge(_info(leaf, verified=True), "00" * 32, True)
    assert (refused.accepted, refused.basis) == (False, "pin_mismatch")
    assert judge(_info(leaf, verified=True), None, False).basis == "system_trust"
    allowed = judge(untrusted, None, True)
    assert (allowed.accepted, allowed.basis) == (True, "allow_self_signed")
    assert "unknown issuer" in allowed.reason
    no = judge(untrusted, None, False)
    assert (no.accepted, no.basis) == (False, "untrusted")
    assert colon_form(good) in no.reason and "allow_self_signed: true" in no.reason
