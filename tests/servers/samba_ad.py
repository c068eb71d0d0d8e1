"""A real Samba Active Directory domain controller on 127.0.0.1, for the directory driver.

Provisioned fresh into a temp dir once per test session (about 3 s here), then started in the
foreground (``samba -i``, LDAP ready about 1 s later) and stopped with SIGTERM at the end.
Only the LDAP service runs (``server services = ldap``): LDAP 389, LDAPS 636, GC 3268/3269,
bound to 127.0.0.1 only. Samba cannot move those ports, so a file lock serialises concurrent
test sessions on the same machine instead of letting the second one fail on a busy port.

Accounts (each with a random password, never a fixed one):
  Administrator  the provisioned one: Domain/Enterprise/Schema Admins
  admin2         a second admin, member of Domain Admins
  plain          an ordinary user
  disabled       disabled (bind refused with AD data 533)
  mustchange     must change password at next logon (773)
  expired        account expired (701)
  locked         locked out by three wrong binds after start (775)
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import random_password

HOST = "127.0.0.1"
LDAP_PORT = 389
LDAPS_PORT = 636
REALM = "CORP.EXAMPLE"
DNS_DOMAIN = "corp.example"
NETBIOS = "CORP"
LOCK_FILE = Path("/tmp/evidence-kit-samba-ad.lock")
LOCKOUT_THRESHOLD = 3
START_TIMEOUT = 60.0


@dataclass
class SambaAD:
    root: Path
    passwords: dict[str, str]
    domain_sid: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    host: str = HOST
    ldap_port: int = LDAP_PORT
    ldaps_port: int = LDAPS_PORT
    realm: str = REALM
    dns_domain: str = DNS_DOMAIN
    netbios: str = NETBIOS

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "smb.conf"

    def upn(self, account: str) -> str:
        return f"{account}@{self.dns_domain}"

    def downlevel(self, account: str) -> str:
        return f"{self.netbios}\\{account}"

    def leaf_sha256(self) -> str:
        """The fingerprint of the certificate Samba serves, from its own file (independent check)."""
        pem = (self.root / "private" / "tls" / "cert.pem").read_text()
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()

def _run(cmd: list[str], check: bool = True, timeout: float = 120) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        # Never echo the command line: it holds a password.
        raise RuntimeError(f"{cmd[0]} {cmd[1]} {cmd[2] if len(cmd) > 2 else ''} failed "
                           f"(exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc.stdout + proc.stderr


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _wait_ldaps(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Ready when an anonymous RootDSE read over LDAPS answers (not merely a listening port)."""
    from ldap3 import BASE, Connection, Server, Tls

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"samba exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if _port_open(LDAPS_PORT):
            try:
                server = Server(HOST, port=LDAPS_PORT, use_ssl=True, tls=Tls(validate=ssl.CERT_NONE),
                                get_info=None, connect_timeout=2)
                conn = Connection(server, receive_timeout=2, raise_exceptions=False)
                conn.open()
                ok = conn.search("", "(objectClass=*)", BASE, attributes=["defaultNamingContext"])
                conn.unbind()
                if ok:
                    return
            except Exception:  # noqa: S110 - not ready yet
                pass
        time.sleep(0.1)
    raise RuntimeError(f"samba did not serve LDAPS within {START_TIMEOUT:.0f} s: {log.read_text()[-2000:]}")


def _lock_out(account: str) -> None:
    from ldap3 import SIMPLE, Connection, Server, Tls

    for _ in range(LOCKOUT_THRESHOLD):
        server = Server(HOST, port=LDAPS_PORT, use_ssl=True, tls=Tls(validate=ssl.CERT_NONE), get_info=None)
        conn = Connection(server, user=f"{account}@{DNS_DOMAIN}", password="not-the-password-1",
                          authentication=SIMPLE, raise_exceptions=False)
        conn.open()
        conn.bind()
        conn.unbind()


@pytest.fixture(scope="session")
def samba_ad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaAD]:
    if not shutil.which("samba") or not shutil.which("samba-tool"):
        pytest.fail("Samba AD DC not installed: apt-get install samba samba-ad-provision "
                    "samba-dsdb-modules samba-vfs-modules")
    lock = open(LOCK_FILE, "w")  # held for the whole session
    deadline = time.monotonic() + 600
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                pytest.fail("another test session has held the Samba AD lock for 10 minutes")
            time.sleep(0.5)
    proc: subprocess.Popen[bytes] | None = None
    try:
        busy = [p for p in (LDAP_PORT, LDAPS_PORT) if _port_open(p)]
        if busy:
            pytest.fail(f"ports {busy} on {HOST} are taken by something else; Samba AD needs them")
        root = tmp_path_factory.mktemp("samba-ad")
        dc = root / "dc"
        passwords = {name: random_password("Ad") for name in
                     ("Administrator", "admin2", "plain", "disabled", "mustchange", "expired", "locked")}
        ad = SambaAD(dc, passwords)

        t0 = time.monotonic()
        provisioned = _run([
            "samba-tool", "domain", "provision", "--server-role=dc", "--use-rfc2307",
            "--dns-backend=NONE", f"--realm={REALM}", f"--domain={NETBIOS}",
            f"--adminpass={passwords['Administrator']}", f"--targetdir={dc}", f"--host-ip={HOST}",
            f"--option=interfaces={HOST}", "--option=bind interfaces only=yes",
            "--option=server services = ldap",
            f"--option=log file = {dc}/log/%m.log", f"--option=pid directory = {dc}/run",
            f"--option=ncalrpc dir = {dc}/run/ncalrpc",
            f"--option=winbindd socket directory = {dc}/run/winbindd",
            f"--option=ntp signd socket directory = {dc}/run/ntp_signd",
            "--option=panic action = ",
        ])
        ad.timings["provision"] = time.monotonic() - t0
        found = re.search(r"DOMAIN SID:\s*(S-1-5-21-[0-9-]+)", provisioned)
        ad.domain_sid = found.group(1) if found else ""
        for sub in ("log", "run", "cache"):
            (dc / sub).mkdir(exist_ok=True)

        t0 = time.monotonic()
        conf = ["-s", str(ad.conf)]
        for name in ("admin2", "plain", "disabled", "mustchange", "expired", "locked"):
            extra = ["--must-change-at-next-login"] if name == "mustchange" else []
            _run(["samba-tool", "user", "create", name, passwords[name], *extra, *conf])
        _run(["samba-tool", "group", "addmembers", "Domain Admins", "admin2", *conf])
        _run(["samba-tool", "user", "disable", "disabled", *conf])
        _run(["samba-tool", "user", "setexpiry", "expired", "--days=0", *conf])
        _run(["samba-tool", "domain", "passwordsettings", "set",
              f"--account-lockout-threshold={LOCKOUT_THRESHOLD}", *conf])
        ad.timings["accounts"] = time.monotonic() - t0

        t0 = time.monotonic()
        log = dc / "log" / "samba-foreground.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(["samba", "-i", "-M", "single", *conf], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        _wait_ldaps(proc, log)
        ad.timings["start"] = time.monotonic() - t0
        _lock_out("locked")
        print(f"\nsamba_ad: provision {ad.timings['provision']:.1f} s, accounts {ad.timings['accounts']:.1f} s, "
              f"start to LDAPS {ad.timings['start']:.1f} s")
        yield ad
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
