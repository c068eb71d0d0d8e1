"""A real telnet server on 127.0.0.1 with PAM logins, for ``transport: telnet`` targets.

``socat TCP-LISTEN:P,bind=127.0.0.1,reuseaddr,fork EXEC:"/usr/sbin/telnetd -h"``: socat accepts,
and runs inetutils ``telnetd`` (Debian ``inetutils-telnetd``) per connection, which runs
``/bin/login`` (PAM) on a pty. ``-h`` keeps host details out of the pre-login banner. Accounts
(throw-away system users, random passwords, removed at teardown):

- ``linux``: a bash login shell (Debian's MOTD is printed after login);
- ``cisco_ios``: the login shell is a wrapper that runs tests/servers/vendor_cli.py, as the sshd
  fixture's ``ForceCommand`` does, with an enable password file; ``~/.hushlogin`` keeps the
  MOTD out so the first thing after the password is the device's own banner and prompt.

The prompts are login(1)'s: ``HOST login: `` then ``Password: `` (not echoed); a wrong password
gives ``Login incorrect`` after PAM's delay (about 3 s) and the login prompt again.
:class:`TelnetClient` is a minimal client (enough option negotiation for telnetd: it accepts
the server's ECHO and SUPPRESS-GO-AHEAD and refuses everything else).
"""

from __future__ import annotations

import os
import re
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
from tests.servers.lifecycle import ServerFixture, add_user, end_process, remove_users
from tests.servers.sshd import ROLES_BY_NAME, SYSTEM_PYTHON, SshAccount, install_simulator

TELNETD = "/usr/sbin/telnetd"
SOCAT = "/usr/bin/socat"
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3


@dataclass(frozen=True)
class TelnetTargets:
    host: str
    port: int
    accounts: Mapping[str, SshAccount]  # linux, cisco_ios (username == system_user)
    log: Path  # socat's log: one "accepting connection from" line per connection
    workdir: Path

    def account(self, role: str) -> SshAccount:
        return self.accounts[role]

    def secrets(self) -> list[str]:
        out: list[str] = []
        for a in self.accounts.values():
            out += [a.password, *([a.enable_secret] if a.enable_secret else [])]
        return out


@dataclass
class TelnetServer(ServerFixture[TelnetTargets]):
    """Start/stop socat + telnetd and the accounts; a context manager that always cleans up."""

    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    workdir: Path = field(init=False)
    _users: list[str] = field(init=False, default_factory=list)
    _proc: subprocess.Popen[bytes] | None = field(init=False, default=None)


    def _user(self, tag: str, shell: str) -> tuple[str, str]:
        user, password = f"ekt_{self.suffix}_t{tag}", random_password("Tel")
        self._users.append(user)
        add_user(user, password, f"evidence-kit telnet test {tag}", shell=shell)
        return user, password

    def start(self) -> TelnetTargets:
        if os.geteuid() != 0:
            raise RuntimeError("the telnet fixture creates system users: run the tests as root")
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-telnet-"))
        self.workdir.chmod(0o755)  # the test users run the simulator from here
        sim = install_simulator(self.workdir)

        linux_user, linux_pw = self._user("lnx", "/bin/bash")
        linux = SshAccount(role="linux", username=linux_user, password=linux_pw, profile="linux",
                           identity=ROLES_BY_NAME["linux"].identity, system_user=linux_user)

        role = ROLES_BY_NAME["cisco_ios"]
        wrapper = self.workdir / "cisco_ios-shell"
        ios_user, ios_pw = self._user("ios", str(wrapper))
        enable = random_password("En")
        secret_file = self.workdir / f"enable-{ios_user}"
        secret_file.write_text(enable + "\n")
        secret_file.chmod(0o600)
        shutil.chown(secret_file, ios_user, ios_user)
        # login(1) runs the login shell; it must be a file it can exec (a #! script is fine).
        wrapper.write_text(f"#!/bin/sh\nexec {SYSTEM_PYTHON} {sim} --vendor {role.vendor} "
                           f"{' '.join(role.sim_args)} --enable-file {secret_file}\n")
        wrapper.chmod(0o755)
        hush = Path(f"/home/{ios_user}/.hushlogin")
        hush.touch()
        ios = SshAccount(role="cisco_ios", username=ios_user, password=ios_pw, profile=role.profile,
                         enable_secret=enable, identity=role.identity, system_user=ios_user)

        port = free_port()
        log = self.workdir / "socat.log"
        with open(log, "wb") as out:
            self._proc = subprocess.Popen(
                [SOCAT, "-d", "-d", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", f"EXEC:{TELNETD} -h"],
                stdout=out, stderr=out)
        deadline = time.monotonic() + 10
        while "listening on" not in log.read_text(errors="replace"):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"socat did not start: {log.read_text(errors='replace')[-500:]}")
            time.sleep(0.02)
        return TelnetTargets("127.0.0.1", port, MappingProxyType({"linux": linux, "cisco_ios": ios}), log,
                             self.workdir)

    def stop(self) -> None:
        if self._proc is not None:
            # socat's forked children (one per open connection) leave with their telnetd; the
            # listener ends on SIGTERM.
            end_process(self._proc)
            self._proc = None
        remove_users(self._users)
        if getattr(self, "workdir", None) is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


class TelnetClient:
    """Just enough telnet (RFC 854) for tests: negotiation answered, data as text."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(0.2)
        self._raw = bytearray()
        self.text = bytearray()  # everything the server sent, less the telnet commands
        self._seen = 0
        self.negotiated: list[tuple[int, int]] = []  # (command, option) the server sent

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> TelnetClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def write(self, line: str) -> None:
        self.sock.sendall(line.encode().replace(bytes([IAC]), bytes([IAC, IAC])) + b"\r\n")

    def _feed(self, data: bytes) -> None:
        buf = self._raw
        buf.extend(data)
        while buf:
            if buf[0] != IAC:
                i = buf.find(bytes([IAC]))
                end = len(buf) if i < 0 else i
                self.text.extend(buf[:end])
                del buf[:end]
                continue
            if len(buf) < 2:
                return
            cmd = buf[1]
            if cmd == IAC:
                self.text.append(IAC)
                del buf[:2]
            elif cmd in (DO, DONT, WILL, WONT):
                if len(buf) < 3:
                    return
                opt = buf[2]
                del buf[:3]
                self.negotiated.append((cmd, opt))
                if cmd == DO:
                    self.sock.sendall(bytes([IAC, WONT, opt]))
                elif cmd == WILL:
                    self.sock.sendall(bytes([IAC, DO if opt in (ECHO, SGA) else DONT, opt]))
            elif cmd == SB:
                end = buf.find(bytes([IAC, SE]))
                if end < 0:
                    return
                del buf[:end + 2]
            else:
                del buf[:2]

    def read_until(self, pattern: str, timeout: float = 15.0) -> str:
        """Text since the last match up to and including ``pattern`` (a regex); TimeoutError if not."""
        regex = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.text, self._seen)
            if m:
                start, self._seen = self._seen, m.end()
                return self.text[start:m.end()].decode(errors="replace")
            text = self.text[self._seen:].decode(errors="replace")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {pattern!r} within {timeout} s; got {text[-300:]!r}")
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            if not data:
                raise ConnectionError(f"connection closed before {pattern!r}; got {text[-300:]!r}")
            self._feed(data)


@pytest.fixture(scope="session")
def telnet_targets() -> Iterator[TelnetTargets]:
    missing = [p for p in (TELNETD, SOCAT) if not Path(p).exists()]
    if os.geteuid() != 0 or missing:
        pytest.skip("needs root, telnetd and socat (apt-get install inetutils-telnetd socat)")
    with TelnetServer() as targets:
        yield targets
