"""SSHSIG in Python against the real ssh-keygen: byte for byte, and each verifies the other."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from evidence_kit.handover import sshsig

NS = "evidence-kit-acknowledgment"
MESSAGE = b'{"a": "transmittal"}\n' + bytes(range(256))


@pytest.fixture(scope="module", params=["ed25519", "rsa"])
def ssh_key(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp(request.param) / "id"
    extra = ["-b", "2048"] if request.param == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", request.param, *extra, "-N", "", "-C", "me@example", "-f", str(path)],
                   check=True)
    return path


def _keygen_sign(key: Path, message: Path) -> bytes:
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", NS, str(message)], check=True,
                   capture_output=True)
    return message.with_name(message.name + ".sig").read_bytes()


def test_byte_for_byte_what_ssh_keygen_writes(ssh_key: Path, tmp_path: Path) -> None:
    message = tmp_path / "message"
    message.write_bytes(MESSAGE)
    theirs = _keygen_sign(ssh_key, message)
    key = serialization.load_ssh_private_key(ssh_key.read_bytes(), password=None)
    assert sshsig.sign(key, MESSAGE, NS).encode() == theirs


def test_ssh_keygen_verifies_ours_and_we_verify_theirs(ssh_key: Path, tmp_path: Path) -> None:
    message = tmp_path / "message"
    message.write_bytes(MESSAGE)
    key = serialization.load_ssh_private_key(ssh_key.read_bytes(), password=None)
    ours = tmp_path / "ours.sig"
    ours.write_text(sshsig.sign(key, MESSAGE, NS))
    pub = ssh_key.with_suffix(".pub").read_text().split()
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'me namespaces="{NS}" {pub[0]} {pub[1]}\n')
    with open(message, "rb") as stdin:
        done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "me", "-n", NS, "-s",
                               str(ours)], stdin=stdin, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Good" in done.stdout

    theirs = _keygen_sign(ssh_key, message)
    who = sshsig.verify(theirs, MESSAGE, NS)
    shown = subprocess.run(["ssh-keygen", "-lf", str(ssh_key.with_suffix(".pub"))], capture_output=True, text=True,
                           check=True).stdout.split()[1]
    assert who.fingerprint == shown and who.public_line == f"{pub[0]} {pub[1]}"


def test_a_changed_message_namespace_or_signature_fails(ssh_key: Path, tmp_path: Path) -> None:
    key = serialization.load_ssh_private_key(ssh_key.read_bytes(), password=None)
    good = sshsig.sign(key, MESSAGE, NS).encode()
    with pytest.raises(sshsig.SshSigProblem, match="does not match"):
        sshsig.verify(good, MESSAGE + b"x", NS)
    with pytest.raises(sshsig.SshSigProblem, match="namespace"):
        sshsig.verify(good, MESSAGE, "file")
    lines = good.decode().splitlines()
    body = list(lines[2])
    body[10] = "A" if body[10] != "A" else "B"
    damaged = "\n".join([lines[0], lines[1], "".join(body), *lines[3:]]).encode()
    with pytest.raises(sshsig.SshSigProblem):
        sshsig.verify(damaged, MESSAGE, NS)
    with pytest.raises(sshsig.SshSigProblem, match="armoured"):
        sshsig.verify(b"not a signature", MESSAGE, NS)
