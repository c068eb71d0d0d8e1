"""Parts the RDP test servers share: accounts, a self-signed certificate, process clean-up.

Not a fixture module itself (tests/servers/xrdp.py and tests/servers/rdp_shadow.py are).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import signal
import ssl
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RdpAccount:
    """One test account and what its desktop shows once logged in."""

    role: str  # "admin" | "plain" | ...
    username: str  # as a client sends it
    password: str
    colour: str  # "#3366cc": the desktop's background
    text: str  # "EVIDENCE-KIT-DESKTOP-<random>-<role>": shown in a window on the desktop
    domain: str = ""

    @property
    def rgb(self) -> tuple[int, int, int]:
        h = self.colour.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def run(args: list[str], stdin: str | None = None, timeout: float = 60) -> str:
    """Run a set-up command; passwords go through stdin, never argv; argv is not echoed."""
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    return proc.stdout


def self_signed(cert_path: Path, key_path: Path, common_name: str) -> str:
    """Write a self-signed RSA certificate for 127.0.0.1/localhost; return its SHA-256 (hex)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_sha256_of_pem(cert_path)


def cert_sha256_of_pem(path: Path) -> str:
    # The first certificate in the file; trailing whitespace (freerdp-shadow writes some) ignored.
    text = path.read_text()
    end = "-----END CERTIFICATE-----"
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(text[: text.index(end) + len(end)] + "\n")).hexdigest()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pids: Iterable[int]) -> list[int]:
    """Every process below ``pids`` (children, grandchildren...), found through /proc."""
    tree = _children()
    out: list[int] = []
    todo = list(pids)
    while todo:
        pid = todo.pop()
        for child in tree.get(pid, []):
            if child not in out:
                out.append(child)
                todo.append(child)
    return out


def user_pids(users: Iterable[str]) -> list[int]:
    """PIDs of processes owned by our throw-away users (their sessions), by uid."""
    import pwd

    uids = set()
    for user in users:
        try:
            uids.add(pwd.getpwnam(user).pw_uid)
        except KeyError:
            continue
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid in uids:
                    out.append(int(entry))
            except OSError:
                continue
    return out


def end_pids(pids: Iterable[int], grace: float = 3.0) -> None:
    """SIGTERM each PID, wait, SIGKILL what is left. Only the PIDs given: no name matching."""
    pids = [p for p in dict.fromkeys(pids) if p > 1 and p != os.getpid()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _alive(p)]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def secrets_of(accounts: Mapping[str, RdpAccount]) -> list[str]:
    return [a.password for a in accounts.values()]
