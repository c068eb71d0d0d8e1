"""A real xrdp + xorgxrdp server on 127.0.0.1 with PAM test users, for the RDP client tests.

``XrdpServer`` (a context manager, also used by benchmarks/bench_rdp.py) starts
``xrdp-sesman -n -c SESMAN.ini`` and ``xrdp -n -c XRDP.ini`` in the foreground with configs
copied from /etc/xrdp: xrdp on a free port of 127.0.0.1, TLS security only (no NLA: xrdp does
not do CredSSP), a self-signed certificate made for the run, logs into the work folder, no
syslog. Accounts are system users (``useradd -m`` + ``chpasswd``, random passwords), members of
a group that sesman requires (``TerminalServerUsers`` + ``AlwaysGroupCheck``), so nobody else
can log in through this server; ``admin`` is also in the ``TerminalServerAdmins`` group. Each
user's ``~/startwm.sh`` paints the desktop a known colour and opens an xterm with a known text.

Traps (docs/real-parts.md): xrdp reads sesman's port from the fixed /etc/xrdp/sesman.ini, so
sesman stays on 3350 and a file lock serialises test sessions on one machine; xrdp does not
disconnect on a wrong password (it shows "login failed" and sesman logs ``AUTHFAIL``); killing
sesman does not end sessions, so tear-down ends every process below sesman and xrdp and every
process of the test users, by PID, then removes the users.
"""

from __future__ import annotations

import fcntl
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
from typing import Any

import pytest

from tests.helpers import free_port, random_password
from tests.servers.lifecycle import ServerFixture, add_user, remove_users
from tests.servers.rdp_common import (
    RdpAccount,
    descendants,
    end_pids,
    run,
    secrets_of,
    self_signed,
    user_pids,
)
from tests.servers.sshd import SilentServer

XRDP = "/usr/sbin/xrdp"
SESMAN = "/usr/sbin/xrdp-sesman"
SESMAN_PORT = 3350  # fixed: xrdp reads it from /etc/xrdp/sesman.ini whatever its own config says
LOCK_FILE = Path("/tmp/evidence-kit-xrdp.lock")
ROLE_COLOURS = {"admin": "#3366cc", "plain": "#2e8b57"}

STARTWM = """#!/bin/sh
# evidence-kit test desktop: a known colour and a window with a known text
xsetroot -solid '{colour}'
exec xterm -geometry 64x6+96+96 -bg white -fg black -fa 'DejaVu Sans Mono' -fs 16 -T evidence-kit \\
  -e sh -c 'echo {text}; exec sleep 86400'
"""


@dataclass(frozen=True)
class XrdpTargets:
    host: str
    port: int
    accounts: Mapping[str, RdpAccount]
    cert_sha256: str  # of the certificate xrdp serves, read from its file
    cert_pem: Path
    workdir: Path
    silent_port: int
    closed_port: int

    def account(self, role: str) -> RdpAccount:
        return self.accounts[role]

    def secrets(self) -> list[str]:
        return secrets_of(self.accounts)

    @property
    def sesman_log(self) -> Path:
        return self.workdir / "sesman.log"

    @property
    def xrdp_log(self) -> Path:
        return self.workdir / "xrdp.log"

    def server_log(self) -> str:
        """Both logs, sesman's first (``AUTHFAIL: user=...``, ``++ created session``...)."""
        parts = [p.read_text(errors="replace") for p in (self.sesman_log, self.xrdp_log) if p.exists()]
        return "\n".join(parts)

    def log_mark(self) -> tuple[int, int]:
        """Current log sizes: pass to :meth:`log_since` to read what one test caused."""
        return tuple(p.stat().st_size if p.exists() else 0 for p in (self.sesman_log, self.xrdp_log))  # type: ignore[return-value]

    def log_since(self, mark: tuple[int, int]) -> str:
        out = []
        for path, offset in zip((self.sesman_log, self.xrdp_log), mark, strict=True):
            if path.exists():
                with open(path, "rb") as f:
                    f.seek(offset)
                    out.append(f.read().decode(errors="replace"))
        return "\n".join(out)


def _ini_set(text: str, key: str, value: str, section: str = "Globals") -> str:
    """Set ``key`` in ``[section]`` only (xrdp.ini has ``port=`` in several sections)."""
    lines = text.splitlines()
    current, done = "", False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
        elif current == section and stripped.split("=", 1)[0].strip() == key and "=" in stripped:
            lines[i] = f"{key}={value}"
            done = True
    if not done:
        raise RuntimeError(f"xrdp config has no {key}= line in [{section}] to set")
    return "\n".join(lines) + "\n"


@dataclass
class XrdpServer(ServerFixture[XrdpTargets]):
    roles: tuple[str, ...] = ("admin", "plain")
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    lock_timeout: float = 600.0
    workdir: Path = field(init=False)
    port: int = field(init=False, default=0)
    _users: list[str] = field(init=False, default_factory=list)
    _groups: list[str] = field(init=False, default_factory=list)
    _procs: list[subprocess.Popen[bytes]] = field(init=False, default_factory=list)
    _silent: SilentServer | None = field(init=False, default=None)
    _lock: Any = field(init=False, default=None)


    def _take_lock(self) -> None:
        self._lock = open(LOCK_FILE, "w")
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError("another test session has held the xrdp lock (sesman port 3350) too long")
                time.sleep(0.5)

    def start(self) -> XrdpTargets:
        if os.geteuid() != 0:
            raise RuntimeError("the xrdp fixture creates system users: run the tests as root")
        self._take_lock()
        with socket.socket(socket.AF_INET6) as s:
            if s.connect_ex(("::1", SESMAN_PORT)) == 0:
                raise RuntimeError(f"port {SESMAN_PORT} (xrdp-sesman) is already in use")
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-xrdp-"))
        Path("/run/xrdp/sockdir").mkdir(parents=True, exist_ok=True)
        os.chmod("/run/xrdp/sockdir", 0o3777)  # noqa: S103 - as the package makes it: sessions of every user
        cert, key_pem = self.workdir / "cert.pem", self.workdir / "key.pem"
        cert_sha = self_signed(cert, key_pem, f"ekt-xrdp-{self.suffix}")

        users_group, admins_group = f"ekt_rdp_{self.suffix}", f"ekt_rdpadm_{self.suffix}"
        for group in (users_group, admins_group):
            run(["groupadd", group])
            self._groups.append(group)
        marker = secrets.token_hex(4)
        accounts: dict[str, RdpAccount] = {}
        for role in self.roles:
            user = f"ekt_{self.suffix}_{role}"
            password = random_password("Rdp")
            groups = users_group + (f",{admins_group}" if role == "admin" else "")
            self._users.append(user)
            add_user(user, password, f"evidence-kit rdp {role}", groups=tuple(groups.split(",")))
            colour = ROLE_COLOURS.get(role, "#884488")
            text = f"EVIDENCE-KIT-DESKTOP-{marker}-{role}"
            startwm = Path(f"/home/{user}/startwm.sh")
            startwm.write_text(STARTWM.format(colour=colour, text=text))
            startwm.chmod(0o755)
            shutil.chown(startwm, user, user)
            accounts[role] = RdpAccount(role=role, username=user, password=password, colour=colour, text=text)

        self.port = free_port()
        sesman_ini = _ini_set(Path("/etc/xrdp/sesman.ini").read_text(), "LogFile", str(self.workdir / "sesman.log"),
                              "Logging")
        for section, key, value in (
            ("Logging", "EnableSyslog", "false"), ("Security", "AllowRootLogin", "false"),
            ("Security", "TerminalServerUsers", users_group), ("Security", "TerminalServerAdmins", admins_group),
            ("Security", "AlwaysGroupCheck", "true"), ("ChansrvLogging", "EnableSyslog", "false"),
        ):
            sesman_ini = _ini_set(sesman_ini, key, value, section)
        (self.workdir / "sesman.ini").write_text(sesman_ini)
        xrdp_ini = Path("/etc/xrdp/xrdp.ini").read_text()
        for key, value in (("port", f"tcp://127.0.0.1:{self.port}"), ("security_layer", "tls"),
                           ("certificate", str(cert)), ("key_file", str(key_pem))):
            xrdp_ini = _ini_set(xrdp_ini, key, value)
        xrdp_ini = _ini_set(xrdp_ini, "LogFile", str(self.workdir / "xrdp.log"), "Logging")
        xrdp_ini = _ini_set(xrdp_ini, "EnableSyslog", "false", "Logging")
        (self.workdir / "xrdp.ini").write_text(xrdp_ini)

        self._spawn([SESMAN, "-n", "-c", str(self.workdir / "sesman.ini")], "sesman.out")
        self._wait_port(("::1", "127.0.0.1"), SESMAN_PORT, "xrdp-sesman")
        self._spawn([XRDP, "-n", "-c", str(self.workdir / "xrdp.ini")], "xrdp.out")
        self._wait_port(("127.0.0.1",), self.port, "xrdp")
        self._silent = SilentServer()
        return XrdpTargets(
            host="127.0.0.1", port=self.port, accounts=MappingProxyType(accounts), cert_sha256=cert_sha,
            cert_pem=cert, workdir=self.workdir, silent_port=self._silent.port, closed_port=free_port(),
        )

    def _spawn(self, args: list[str], out_name: str) -> None:
        with open(self.workdir / out_name, "wb") as out:
            self._procs.append(subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                                cwd=self.workdir))

    def _wait_port(self, hosts: tuple[str, ...], port: int, what: str) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    logs = " ".join((self.workdir / n).read_text(errors="replace")[-500:]
                                    for n in ("sesman.out", "xrdp.out") if (self.workdir / n).exists())
                    raise RuntimeError(f"{proc.args[0]} exited ({proc.returncode}): {logs}")  # type: ignore[index]
            for host in hosts:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                with socket.socket(family) as s:
                    s.settimeout(0.5)
                    if s.connect_ex((host, port)) == 0:
                        return
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not listen on port {port} within 15 s")

    def stop(self) -> None:
        if self._silent is not None:
            self._silent.close()
            self._silent = None
        roots = [p.pid for p in self._procs if p.poll() is None]
        # Sessions (Xorg, chansrv, startwm) hang below sesman and survive it: end them all by PID.
        end_pids(descendants(roots) + user_pids(self._users))
        end_pids(roots)
        for proc in self._procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._procs.clear()
        end_pids(user_pids(self._users), grace=1.0)
        remove_users(self._users)
        for group in self._groups:
            subprocess.run(["groupdel", group], capture_output=True, timeout=30)
        self._groups.clear()
        if getattr(self, "workdir", None) is not None and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


@pytest.fixture(scope="session")
def xrdp_server() -> Iterator[XrdpTargets]:
    if os.geteuid() != 0 or not Path(XRDP).exists() or not shutil.which("Xorg"):
        pytest.skip("needs root and xrdp + xorgxrdp (apt-get install xrdp xorgxrdp)")
    with XrdpServer() as targets:
        yield targets
