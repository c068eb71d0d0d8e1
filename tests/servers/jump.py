"""Targets behind jump hosts, in network namespaces the test makes (tests/servers/netns.py).

Topology (``N`` is the block :class:`~tests.servers.netns.TestNetwork` claimed; every server
listens on its standard port inside its own namespace)::

    root (the tests) 10.213.N.1
      |  link 0
    jump1  10.213.N.2:22        OpenSSH, AllowTcpForwarding local; users linux (password), key
      |-- link 1 (jump1 .9) -- target  10.213.N.10:22   OpenSSH: linux, key, cisco_ios (simulator)
      |                                10.213.N.10:2222 Dropbear: the target's linux and key users
      |                                10.213.N.10:80   the web portals (tests/servers/portals.py)
      |-- link 2 (jump1 .17) -- jump2  10.213.N.18:22   OpenSSH, forwarding; users linux, key
                                 |-- link 3 (jump2 .25) -- deep  10.213.N.26:22  OpenSSH: linux, key, cisco_ios

Only jump1 is reachable from the root namespace; target, Dropbear and the portal solely through
jump1 (``direct-tcpip``), deep solely through jump1 then jump2 (a two-hop chain). A direct
connection from the tests to any other address fails at once: "No route to host".

Every sshd logs at ``VERBOSE`` (each "Connection from ADDR port P", each auth result) and the
jump hosts at ``DEBUG1`` as well, so their logs name every ``direct-tcpip`` request
("server_request_direct_tcpip: originator ... to ADDR port P"). With :class:`LogWatch` a test
proves "nothing was sent past a hop": the next hop's log shows no new connection.

Users are system users (shared by all namespaces; the sshd fixture's throw-away kind), so the
target's ``linux`` user is also a Dropbear user. :class:`JumpLabServer` works without pytest too.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from tests.helpers import random_password
from tests.servers.lifecycle import ServerFixture, end_process, run_checked
from tests.servers.netns import Link, TestNetwork, in_netns, roles_of, wait_listening
from tests.servers.portals import PRODUCTS, PortalServer, _handler
from tests.servers.sshd import SSHD, SshAccount, SshdServer, SshdTargets, fingerprint_of_pub

DROPBEAR = "/usr/sbin/dropbear"
LINKS = (Link("root", "jump1"), Link("jump1", "target"), Link("jump1", "jump2"), Link("jump2", "deep"))
SSH_PORT, DROPBEAR_PORT, PORTAL_PORT = 22, 2222, 80


class LogWatch:
    """What a server log gained since this object was made (server logs are session-wide)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_text(self, settle: float = 0.0) -> str:
        """Text written since the mark; ``settle`` seconds first, for lines still on their way."""
        if settle:
            time.sleep(settle)
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")


@dataclass(frozen=True)
class DropbearTarget:
    host: str
    port: int
    netns: str
    host_key_fingerprints: Mapping[str, str]  # ssh-ed25519 / ssh-rsa -> SHA256:...
    known_hosts: Path
    accounts: Mapping[str, SshAccount]  # the target sshd's linux and key users
    log: Path

    def account(self, role: str) -> SshAccount:
        return self.accounts[role]


@dataclass(frozen=True)
class JumpLab:
    """What tests need; addresses are inside the test's namespaces, secrets test-only randoms."""

    cidr: str  # the block, unreachable from the root namespace except link 0
    namespaces: Mapping[str, str]  # role (jump1, jump2, target, deep) -> netns name
    root_address: str  # the tests' address on link 0 (what jump1 sees as the source)
    jump1: SshdTargets
    jump2: SshdTargets
    target: SshdTargets
    deep: SshdTargets
    dropbear: DropbearTarget
    portal: PortalServer  # portal.base is http://<target address>:80, behind jump1
    known_hosts: Path  # every server above, as OpenSSH writes them (``ADDR`` / ``[ADDR]:PORT``)
    workdir: Path

    def secrets(self) -> list[str]:
        out: list[str] = [*self.portal.secrets()]
        for server in (self.jump1, self.jump2, self.target, self.deep):
            out += server.secrets()
        return out

    def watch(self, *names: str) -> dict[str, LogWatch]:
        """Marks on the logs of ``names`` (jump1, jump2, target, deep, dropbear)."""
        logs = {n: getattr(self, n).log for n in names}
        return {n: LogWatch(p) for n, p in logs.items()}


class LocalForward:
    """``ssh -L``: a listener on 127.0.0.1 whose connections go through ``transport``'s
    ``direct-tcpip`` channels to ``dest`` (so a browser or an HTTP client reaches a portal that
    listens behind a jump host). Tests and benchmarks use it; close() ends it."""

    def __init__(self, transport: Any, dest: tuple[str, int]) -> None:
        import socket

        self.transport, self.dest = transport, dest
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)  # so close() ends the accept loop
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        threading.Thread(target=self._accept, name="local-forward", daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            try:
                chan = self.transport.open_channel("direct-tcpip", self.dest, peer)
            except Exception:
                conn.close()
                continue
            for a, b in ((conn, chan), (chan, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for end in (src, dst):
                try:
                    end.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


class DropbearServer:
    """Dropbear (Debian dropbear-bin) in a namespace, foreground, logging to a file."""

    def __init__(self, netns: str, host: str, port: int, accounts: Mapping[str, SshAccount], workdir: Path):
        self.netns, self.host, self.port, self.accounts, self.workdir = netns, host, port, accounts, workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DropbearTarget:
        keys, fingerprints, lines = [], {}, []
        for ktype in ("ed25519", "rsa"):
            key = self.workdir / f"dropbear_{ktype}_host_key"
            run_checked(["dropbearkey", "-t", ktype, "-f", str(key)])
            pub = subprocess.run(["dropbearkey", "-y", "-f", str(key)], capture_output=True, text=True,
                                 check=True).stdout
            line = next(x for x in pub.splitlines() if x.startswith("ssh-"))
            fingerprints[line.split()[0]] = fingerprint_of_pub(line)
            lines.append(f"[{self.host}]:{self.port} {' '.join(line.split()[:2])}")
            keys += ["-r", str(key)]
        known_hosts = self.workdir / "dropbear_known_hosts"
        known_hosts.write_text("\n".join(lines) + "\n")
        log = self.workdir / "dropbear.log"
        with open(log, "wb") as out:
            # -F foreground, -E log to stderr, -w no root, -j/-k no forwarding, -m no motd.
            self._proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, DROPBEAR, "-F", "-E", "-w", "-j", "-k", "-m", *keys,
                 "-p", f"{self.host}:{self.port}", "-P", str(self.workdir / "dropbear.pid")],
                stdout=out, stderr=out)
        proc = self._proc
        wait_listening(self.netns, self.host, self.port, expect=b"SSH-2.0-", alive=lambda: proc.poll() is None)
        return DropbearTarget(
            host=self.host, port=self.port, netns=self.netns, host_key_fingerprints=MappingProxyType(fingerprints),
            known_hosts=known_hosts, accounts=self.accounts, log=log,
        )

    def stop(self) -> None:
        if self._proc is not None:
            end_process(self._proc)
            self._proc = None


def start_portal(netns: str, host: str, port: int) -> PortalServer:
    """The fixture portals (every shipped web profile's login page), listening inside ``netns``."""
    import pyotp

    def bind() -> http.server.ThreadingHTTPServer:
        return http.server.ThreadingHTTPServer((host, port), http.server.BaseHTTPRequestHandler)

    server = in_netns(netns, bind)
    server.daemon_threads = True
    portal = PortalServer(
        base=f"http://{host}:{port}" if port != 80 else f"http://{host}", password=random_password("Portal"),
        totp_seed=pyotp.random_base32(), products=PRODUCTS, server=server,
    )
    server.RequestHandlerClass = _handler(portal)
    threading.Thread(target=server.serve_forever, name="netns-portal", daemon=True).start()
    return portal


@dataclass
class JumpLabServer(ServerFixture[JumpLab]):
    """Start/stop the whole lab; a context manager that cleans up on any failure."""

    net: TestNetwork = field(init=False)
    workdir: Path = field(init=False)
    _sshds: list[SshdServer] = field(init=False, default_factory=list)
    _dropbear: DropbearServer | None = field(init=False, default=None)
    _portal: PortalServer | None = field(init=False, default=None)
    timings: dict[str, float] = field(init=False, default_factory=dict)  # start-up seconds per part


    def _sshd(self, role: str, peer: str, roles: tuple[str, ...], jump: bool) -> SshdTargets:
        t0 = time.monotonic()
        server = SshdServer(
            roles=roles, netns=self.net.ns(role), listen_address=self.net.address(role, peer),
            listen_port=SSH_PORT, allow_tcp_forwarding=jump, log_level="DEBUG1" if jump else "VERBOSE",
        )
        self._sshds.append(server)
        targets = server.start()
        self.timings[role] = time.monotonic() - t0
        return targets

    def start(self) -> JumpLab:
        if os.geteuid() != 0 or not Path(SSHD).exists() or not Path(DROPBEAR).exists():
            raise RuntimeError("the jump lab needs root, openssh-server and dropbear-bin")
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-jump-"))
        self.net = TestNetwork(roles_of(LINKS), LINKS)
        self.net.start()
        self.timings["network"] = time.monotonic() - t0
        jump1 = self._sshd("jump1", "root", ("linux", "key"), jump=True)
        jump2 = self._sshd("jump2", "jump1", ("linux", "key"), jump=True)
        target = self._sshd("target", "jump1", ("linux", "key", "cisco_ios"), jump=False)
        deep = self._sshd("deep", "jump2", ("linux", "key", "cisco_ios"), jump=False)

        t1 = time.monotonic()
        target_addr = self.net.address("target", "jump1")
        self._dropbear = DropbearServer(
            self.net.ns("target"), target_addr, DROPBEAR_PORT,
            MappingProxyType({r: target.accounts[r] for r in ("linux", "key")}), self.workdir)
        dropbear = self._dropbear.start()
        self.timings["dropbear"] = time.monotonic() - t1
        t1 = time.monotonic()
        self._portal = start_portal(self.net.ns("target"), target_addr, PORTAL_PORT)
        self.timings["portal"] = time.monotonic() - t1

        known_hosts = self.workdir / "known_hosts"
        known_hosts.write_text("".join(p.read_text() for p in (
            jump1.known_hosts, jump2.known_hosts, target.known_hosts, deep.known_hosts, dropbear.known_hosts)))
        self.timings["total"] = time.monotonic() - t0
        return JumpLab(
            cidr=self.net.cidr,
            namespaces=MappingProxyType({r: self.net.ns(r) for r in self.net.roles}),
            root_address=self.net.address("root", "jump1"),
            jump1=jump1, jump2=jump2, target=target, deep=deep, dropbear=dropbear, portal=self._portal,
            known_hosts=known_hosts, workdir=self.workdir,
        )

    def stop(self) -> None:
        if self._portal is not None:
            self._portal.release.set()
            self._portal.server.shutdown()
            self._portal.server.server_close()
            self._portal = None
        if self._dropbear is not None:
            self._dropbear.stop()
            self._dropbear = None
        for server in reversed(self._sshds):
            server.stop()
        self._sshds.clear()
        if getattr(self, "net", None) is not None:
            self.net.stop()  # kills what is left inside (session children), deletes, drops the route
        if getattr(self, "workdir", None) is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def jump_lab() -> Iterator[JumpLab]:
    missing = [p for p in (SSHD, DROPBEAR, "/usr/sbin/ip") if not Path(p).exists()]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"needs root and {', '.join(missing) or 'network namespaces'} "
                    "(apt-get install openssh-server dropbear-bin iproute2)")
    with JumpLabServer() as lab:
        yield lab
