"""Real proxies with proxy authentication on 127.0.0.1, for targets reached through a proxy.

- ``socks_proxy``: Dante (Debian ``dante-server``), SOCKS5 with the username/password method,
  checked against a throw-away system account (``useradd -M -s /usr/sbin/nologin`` + chpasswd).
  Only CONNECT to 127.0.0.1 is allowed: anything else is refused by the rules ("Connection not
  allowed by ruleset"), so nothing can leave this machine through it.
- ``http_proxy``: tinyproxy, HTTP (absolute-form GET) and CONNECT with ``BasicAuth``; a filter
  with ``FilterDefaultDeny Yes`` lets only the host 127.0.0.1 through.

Both run in the foreground as child processes, logging into their work folder
(``ProxyEndpoint.log``). :class:`DanteServer` and :class:`TinyproxyServer` work without pytest too.
What each answers to a wrong password is in docs/real-parts.md.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import free_port, random_password
from tests.servers.lifecycle import ServerFixture, run_checked

DANTED = "/usr/sbin/danted"
TINYPROXY = "/usr/bin/tinyproxy"


@dataclass(frozen=True)
class ProxyEndpoint:
    kind: str  # "socks5" | "http"
    host: str
    port: int
    username: str
    password: str
    log: Path

    @property
    def url(self) -> str:
        """``socks5://user:pw@host:port`` / ``http://...``, user and password percent-encoded."""
        return f"{self.kind}://{quote(self.username, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}"

    def secrets(self) -> list[str]:
        return [self.password]


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited: {log.read_text(errors='replace')[-800:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.terminate()  # danted's parent ends its children itself
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class DanteServer(ServerFixture[ProxyEndpoint]):
    """danted with a SOCKS5 username/password account; a context manager that always cleans up."""

    workdir: Path = field(init=False)
    user: str = field(init=False, default="")
    _proc: subprocess.Popen[bytes] | None = field(init=False, default=None)


    def start(self) -> ProxyEndpoint:
        if os.geteuid() != 0:
            raise RuntimeError("the SOCKS proxy fixture creates a system user: run the tests as root")
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-socks-"))
        user = f"ekt_{secrets.token_hex(3)}_sox"
        password = random_password("Sox")
        run_checked(["useradd", "-M", "-s", "/usr/sbin/nologin", "-c", "evidence-kit test SOCKS user", user])
        self.user = user
        run_checked(["chpasswd"], stdin=f"{user}:{password}\n")
        port = free_port()
        log = self.workdir / "danted.log"
        conf = self.workdir / "danted.conf"
        # One keyword per line inside a rule: "log:" on the "from:" line is a syntax error.
        conf.write_text(f"""\
logoutput: {log}
internal: 127.0.0.1 port = {port}
external: 127.0.0.1
socksmethod: username
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{
  from: 127.0.0.1/32 to: 0.0.0.0/0
  log: error
}}
socks pass {{
  from: 127.0.0.1/32 to: 127.0.0.1/32
  command: connect
  log: connect disconnect error
}}
socks block {{
  from: 0.0.0.0/0 to: 0.0.0.0/0
  log: connect error
}}
""")
        run_checked([DANTED, "-V", "-f", str(conf)])
        with open(self.workdir / "danted.out", "wb") as out:
            self._proc = subprocess.Popen([DANTED, "-f", str(conf), "-p", str(self.workdir / "danted.pid")],
                                          stdout=out, stderr=out)
        _wait_port(port, self._proc, self.workdir / "danted.out")
        return ProxyEndpoint("socks5", "127.0.0.1", port, user, password, log)

    def stop(self) -> None:
        _stop(self._proc)
        self._proc = None
        if self.user:
            subprocess.run(["userdel", "-f", self.user], capture_output=True, timeout=30)
            self.user = ""
        if getattr(self, "workdir", None) is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class TinyproxyServer(ServerFixture[ProxyEndpoint]):
    """tinyproxy with BasicAuth; a context manager that always cleans up."""

    workdir: Path = field(init=False)
    _proc: subprocess.Popen[bytes] | None = field(init=False, default=None)


    def start(self) -> ProxyEndpoint:
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-httpproxy-"))
        self.workdir.chmod(0o755)
        user = f"ekt_{secrets.token_hex(3)}_web"
        # tinyproxy's config grammar takes only [-A-Za-z0-9._] in BasicAuth (anything else is
        # "Syntax error"): the password is random but from that alphabet.
        password = "Htp-" + secrets.token_urlsafe(18)
        port = free_port()
        log = self.workdir / "tinyproxy.log"
        log.touch()
        shutil.chown(log, "nobody")  # tinyproxy writes its log after dropping to User nobody
        filt = self.workdir / "filter"
        filt.write_text("^127\\.0\\.0\\.1$\n")
        conf = self.workdir / "tinyproxy.conf"
        conf.write_text(f"""\
User nobody
Group nogroup
Port {port}
Listen 127.0.0.1
Timeout 60
LogFile "{log}"
LogLevel Connect
PidFile "{self.workdir}/tinyproxy.pid"
MaxClients 100
Allow 127.0.0.1
BasicAuth {user} {password}
DisableViaHeader Yes
Filter "{filt}"
FilterExtended On
FilterDefaultDeny Yes
""")
        conf.chmod(0o600)  # the BasicAuth password is in it; tinyproxy reads it as root first
        with open(self.workdir / "tinyproxy.out", "wb") as out:
            self._proc = subprocess.Popen([TINYPROXY, "-d", "-c", str(conf)], stdout=out, stderr=out)
        _wait_port(port, self._proc, self.workdir / "tinyproxy.out")
        return ProxyEndpoint("http", "127.0.0.1", port, user, password, log)

    def stop(self) -> None:
        _stop(self._proc)
        self._proc = None
        if getattr(self, "workdir", None) is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def socks_proxy() -> Iterator[ProxyEndpoint]:
    if os.geteuid() != 0 or not Path(DANTED).exists():
        pytest.skip("needs root and danted (apt-get install dante-server)")
    with DanteServer() as proxy:
        yield proxy


@pytest.fixture(scope="session")
def http_proxy() -> Iterator[ProxyEndpoint]:
    if not Path(TINYPROXY).exists():
        pytest.skip("needs tinyproxy (apt-get install tinyproxy)")
    with TinyproxyServer() as proxy:
        yield proxy
