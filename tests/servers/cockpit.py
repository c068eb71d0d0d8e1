"""Real Cockpit (cockpit-ws) on 127.0.0.1, plain HTTP and behind TLS, with a throwaway user.

Nothing is installed at test time (CI installs cockpit-ws, cockpit-bridge, cockpit-system).
A local user with a random password is created with useradd/chpasswd (Cockpit refuses root)
and removed at teardown. The TLS instance reads a certificate the test makes, from its own
XDG_CONFIG_DIRS (``<dir>/cockpit/ws-certs.d``): no system path is touched.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port, random_password

COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"


@dataclass
class CockpitUser:
    name: str
    password: str


@dataclass
class CockpitServer:
    url: str
    port: int
    user: CockpitUser
    cert_sha256: str | None = None  # TLS instance only
    cert_pem: bytes | None = None


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"cockpit-ws exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"cockpit-ws did not listen on {port}")


def _make_cert(folder: Path) -> tuple[str, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cockpit-test.invalid")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    certs = folder / "cockpit" / "ws-certs.d"
    certs.mkdir(parents=True)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (certs / "0-evidence-kit-test.cert").write_bytes(pem)
    (certs / "0-evidence-kit-test.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(certs / "0-evidence-kit-test.key", 0o600)
    import hashlib

    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(), pem


def _start(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [COCKPIT_WS, "--port", str(port), "--address", "127.0.0.1", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})},
    )
    _wait_port(port, proc)
    return proc, port


def kill_user_processes(name: str) -> None:
    """End what a Cockpit login left running as the throwaway user (cockpit-bridge starts a
    session dbus-daemon that outlives cockpit-ws), by process id, before the user is deleted."""
    import pwd
    import signal

    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            line = next((li for li in status.splitlines() if li.startswith("Uid:")), "")
            if line and int(line.split()[1]) == uid:
                pids.append(int(entry))
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if not pids:
            return
        time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def cockpit_user() -> Iterator[CockpitUser]:
    if not os.path.exists(COCKPIT_WS):
        pytest.skip("cockpit-ws is not installed (apt-get install cockpit-ws cockpit-bridge cockpit-system)")
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("creating a Cockpit test user needs root and useradd")
    name = f"ekweb{secrets.token_hex(3)}"
    password = random_password("Ck")
    subprocess.run(["useradd", "-M", "-s", "/bin/bash", name], check=True)
    try:
        subprocess.run(["chpasswd"], input=f"{name}:{password}".encode(), check=True)
        yield CockpitUser(name, password)
    finally:
        kill_user_processes(name)
        subprocess.run(["userdel", "-f", name], check=False, capture_output=True)


@pytest.fixture(scope="session")
def cockpit(cockpit_user: CockpitUser) -> Iterator[CockpitServer]:
    """cockpit-ws --no-tls on 127.0.0.1."""
    proc, port = _start(["--no-tls"])
    try:
        yield CockpitServer(f"http://127.0.0.1:{port}/", port, cockpit_user)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def cockpit_tls(cockpit_user: CockpitUser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CockpitServer]:
    """cockpit-ws serving HTTPS with a self-signed certificate the test made."""
    folder = tmp_path_factory.mktemp("cockpit-xdg")
    digest, pem = _make_cert(folder)
    proc, port = _start([], env={"XDG_CONFIG_DIRS": str(folder)})
    try:
        yield CockpitServer(f"https://127.0.0.1:{port}/", port, cockpit_user, digest, pem)
    finally:
        _stop(proc)
