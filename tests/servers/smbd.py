"""A standalone Samba ``smbd`` on 127.0.0.1 with Windows-like admin shares, for the SMB proof tests.

``SmbdServer`` (context manager) writes its own smb.conf (every path inside a temp folder: private
dir, passdb, locks, state, cache, pid, ncalrpc, logs), picks a free port (``smb ports``), binds to
127.0.0.1 only, and runs ``smbd --foreground --no-process-group`` as a child; SIGTERM stops it.
Shares: ``ADMIN$`` and ``C$`` open only to a test admin group (``valid users = @group``), like
Windows' administrative shares; ``users`` for every test account; ``IPC$`` is Samba's own.

Accounts (system users made with ``useradd -M``, Samba passwords set with ``smbpasswd -s``
through stdin, random values): ``admin`` (in the admin group), ``plain``, and ``disabled``
(``smbpasswd -d``: STATUS_ACCOUNT_DISABLED). All are removed at tear-down.

Faster and simpler than the AD DC in tests/servers/samba_ad.py (which runs only its LDAP service
there): about a second to start, no provisioning.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pytest

from tests.helpers import free_port, random_password
from tests.servers.lifecycle import ServerFixture
from tests.servers.rdp_common import run
from tests.servers.sshd import SilentServer

SMBD = "/usr/sbin/smbd"
WORKGROUP = "EKTLAB"
NETBIOS = "EKTSMB"


@dataclass(frozen=True)
class SmbAccount:
    role: str
    username: str
    password: str
    admin: bool


@dataclass(frozen=True)
class SmbdTargets:
    host: str
    port: int
    workgroup: str
    netbios_name: str
    accounts: Mapping[str, SmbAccount]
    workdir: Path
    silent_port: int
    closed_port: int
    admin_shares: tuple[str, ...] = ("ADMIN$", "C$")
    user_shares: tuple[str, ...] = ("users",)

    def account(self, role: str) -> SmbAccount:
        return self.accounts[role]

    def secrets(self) -> list[str]:
        return [a.password for a in self.accounts.values()]

    def server_log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted((self.workdir / "log").glob("*")) if p.is_file())


@dataclass
class SmbdServer(ServerFixture[SmbdTargets]):
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    workdir: Path = field(init=False)
    port: int = field(init=False, default=0)
    _users: list[str] = field(init=False, default_factory=list)
    _groups: list[str] = field(init=False, default_factory=list)
    _proc: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _silent: SilentServer | None = field(init=False, default=None)


    def start(self) -> SmbdTargets:
        if os.geteuid() != 0:
            raise RuntimeError("the smbd fixture creates system users: run the tests as root")
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-smbd-"))
        for sub in ("private", "lock", "state", "cache", "run", "run/ncalrpc", "log", "shares/admin", "shares/c",
                    "shares/users"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "shares" / "c" / "Windows").mkdir()
        self.workdir.chmod(0o711)  # the share folders are reached as the logged-in user
        (self.workdir / "private").chmod(0o700)
        admins, everyone = f"ekt_smbadm_{self.suffix}", f"ekt_smb_{self.suffix}"
        for group in (admins, everyone):
            run(["groupadd", group])
            self._groups.append(group)
        self.port = free_port()
        conf = self.workdir / "smb.conf"
        conf.write_text(self._config(admins, everyone))
        accounts: dict[str, SmbAccount] = {}
        for role in ("admin", "plain", "disabled"):
            user = f"ekt_{self.suffix}_s{role[:3]}"
            groups = everyone + (f",{admins}" if role == "admin" else "")
            run(["useradd", "--badname", "-M", "-s", "/usr/sbin/nologin", "-G", groups, "-c",
                 f"evidence-kit smb {role}", user])
            self._users.append(user)
            password = random_password("Smb")
            run(["smbpasswd", "-c", str(conf), "-s", "-a", user], stdin=f"{password}\n{password}\n")
            if role == "disabled":
                run(["smbpasswd", "-c", str(conf), "-d", user])
            accounts[role] = SmbAccount(role, user, password, admin=role == "admin")
        with open(self.workdir / "log" / "smbd.out", "wb") as out:
            self._proc = subprocess.Popen(
                [SMBD, "--foreground", "--no-process-group", "-s", str(conf)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                # Its own process group: on SIGTERM smbd signals its whole group, which would
                # otherwise be the test runner's.
                start_new_session=True,
            )
        self._wait()
        self._silent = SilentServer()
        return SmbdTargets(
            host="127.0.0.1", port=self.port, workgroup=WORKGROUP, netbios_name=NETBIOS,
            accounts=MappingProxyType(accounts), workdir=self.workdir, silent_port=self._silent.port,
            closed_port=free_port(),
        )

    def _config(self, admins: str, everyone: str) -> str:
        w = self.workdir
        return f"""\
# evidence-kit test smbd (generated)
[global]
  workgroup = {WORKGROUP}
  netbios name = {NETBIOS}
  server string = evidence-kit test server
  server role = standalone server
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = {self.port}
  disable netbios = yes
  server min protocol = SMB2_10
  map to guest = Never
  restrict anonymous = 2
  passdb backend = tdbsam:{w}/private/passdb.tdb
  private dir = {w}/private
  lock directory = {w}/lock
  state directory = {w}/state
  cache directory = {w}/cache
  pid directory = {w}/run
  ncalrpc dir = {w}/run/ncalrpc
  log file = {w}/log/log.%m
  log level = 1 auth_audit:3
  max log size = 0
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  usershare max shares = 0
  panic action =

[ADMIN$]
  comment = Remote Admin (test)
  path = {w}/shares/admin
  valid users = @{admins}
  read only = no
  browseable = no

[C$]
  comment = Default share (test)
  path = {w}/shares/c
  valid users = @{admins}
  read only = no
  browseable = no

[users]
  comment = Every test account
  path = {w}/shares/users
  valid users = @{everyone}
  read only = yes
"""

    def _wait(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                out = (self.workdir / "log" / "smbd.out").read_text(errors="replace")
                raise RuntimeError(f"smbd exited ({self._proc.returncode}): {out[-1000:]}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"smbd did not listen on port {self.port} within 20 s")

    def stop(self) -> None:
        if self._silent is not None:
            self._silent.close()
            self._silent = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(5)
            self._proc = None
        for user in self._users:
            subprocess.run(["userdel", "-f", user], capture_output=True, timeout=30)
        self._users.clear()
        for group in self._groups:
            subprocess.run(["groupdel", group], capture_output=True, timeout=30)
        self._groups.clear()
        if getattr(self, "workdir", None) is not None and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def smbd_server() -> Iterator[SmbdTargets]:
    if os.geteuid() != 0 or not Path(SMBD).exists():
        pytest.skip("needs root and Samba's smbd (apt-get install samba)")
    with SmbdServer() as targets:
        yield targets
