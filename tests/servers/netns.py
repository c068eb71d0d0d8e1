"""Network namespaces made by a test: a private, routed-nowhere address block for jump-host tests.

:class:`TestNetwork` claims one ``/24`` of 10.213.0.0/16 (the block ``10.213.N.0/24``), and
**first** adds ``ip route add unreachable 10.213.N.0/24`` in the root namespace. Without that
route a connection to a target address would leave this machine by the default route; with it,
a direct connection fails at once ("No route to host") unless a more specific route - a veth
link of ours - covers the address. Adding the route is also the lock: ``ip route add`` fails
("File exists") when another test session holds the block, and the next block is tried.

Then it makes one namespace per role (``ip netns add ekt-N-PID-ROLE``) and one veth pair per
link; link ``i`` gets ``10.213.N.(8i)/29``, its left end ``.8i+1`` and its right end ``.8i+2``.
A namespace has no default route and no IP forwarding, so a host in it reaches only the links
it sits on: a server behind a jump namespace is reachable *solely* through a process (sshd)
running in the jump namespace.

Clean-up (``stop``, also when start-up fails halfway): every process still inside our
namespaces is killed by PID (``ip netns pids``), the namespaces are deleted (their veth pairs go
with them) and the route is dropped. Namespaces of a test session that died (its PID is in the
name) are cleaned up by the next one.

:func:`in_netns` runs a function in a short-lived thread switched into a namespace (``setns``
affects only the calling thread): a socket made there stays in that namespace, so a test can
listen or probe inside a namespace without a subprocess (the web portal behind the jump host).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.servers.lifecycle import ServerFixture

T = TypeVar("T")

PREFIX = "10.213"  # 10.213.N.0/24 per test session; nowhere outside our namespaces
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
_NAME = re.compile(r"^ekt-(\d+)-(\d+)-([a-z0-9]+)$")


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip ARGS``; one clear error with ip's own message when it fails."""
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    return proc.stdout


def in_netns(netns: str, fn: Callable[[], T]) -> T:
    """Call ``fn()`` in a thread that has joined network namespace ``netns``; return its result.

    Sockets created by ``fn`` belong to that namespace for their whole life, whichever thread
    uses them afterwards. The calling thread never changes namespace.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            fd = os.open(f"{NETNS_DIR}/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({netns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"netns-{netns}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def namespace_pids(netns: str) -> list[int]:
    out = ip("netns", "pids", netns, check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def kill_namespace_processes(netns: str, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL, every process inside ``netns`` (only our own servers live there)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace_pids(netns)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            time.sleep(0.02)
        if not pids:
            return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (a child not yet reaped) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _our_namespaces() -> list[tuple[str, int, int]]:
    """(name, block N, owner PID) of every namespace named by this module."""
    out = []
    for line in ip("netns", "list", check=False).splitlines():
        name = line.split()[0] if line.strip() else ""
        m = _NAME.match(name)
        if m:
            out.append((name, int(m.group(1)), int(m.group(2))))
    return out


def cleanup_stale() -> list[str]:
    """Remove namespaces (and their route) left by a test session that died; return their names."""
    gone = []
    live_blocks = set()
    stale = []
    for name, block, pid in _our_namespaces():
        if pid != os.getpid() and not _alive(pid):
            stale.append((name, block))
        else:
            live_blocks.add(block)
    for name, block in stale:
        kill_namespace_processes(name)
        ip("netns", "del", name, check=False)
        gone.append(name)
        if block not in live_blocks:
            ip("route", "del", "unreachable", f"{PREFIX}.{block}.0/24", check=False)
    return gone


@dataclass(frozen=True)
class Link:
    """A veth pair: ``left`` and ``right`` are roles (``root`` is the root namespace)."""

    left: str
    right: str


@dataclass
class TestNetwork(ServerFixture["TestNetwork"]):
    """Namespaces ``roles`` joined by ``links``; a context manager that always cleans up."""

    __test__ = False  # not a pytest test class, despite the name

    roles: tuple[str, ...]
    links: tuple[Link, ...]
    block: int = field(init=False, default=-1)
    _namespaces: list[str] = field(init=False, default_factory=list)
    _route: str | None = field(init=False, default=None)
    _root_devs: list[str] = field(init=False, default_factory=list)
    _addresses: dict[tuple[str, str], str] = field(init=False, default_factory=dict)

    @property
    def cidr(self) -> str:
        return f"{PREFIX}.{self.block}.0/24"

    def ns(self, role: str) -> str:
        """The namespace name of ``role`` (for ``ip netns exec`` and :func:`in_netns`)."""
        return f"ekt-{self.block}-{os.getpid()}-{role}"

    def address(self, role: str, peer: str) -> str:
        """The address of ``role`` on its link to ``peer`` (what ``peer`` connects to)."""
        return self._addresses[(role, peer)]

    def start(self) -> TestNetwork:
        if os.geteuid() != 0:
            raise RuntimeError("network namespaces need root")
        cleanup_stale()
        self._claim_block()
        for role in self.roles:
            name = self.ns(role)
            ip("netns", "add", name)
            self._namespaces.append(name)
            ip("-n", name, "link", "set", "lo", "up")
        for i, link in enumerate(self.links):
            self._add_link(i, link)
        return self

    def _claim_block(self) -> None:
        used = {b for _, b, _ in _our_namespaces()}
        for block in [*range(1 + os.getpid() % 200, 255), *range(1, 255)]:
            if block in used:
                continue
            cidr = f"{PREFIX}.{block}.0/24"
            # The route comes before anything else: from now on nothing in the block can leave.
            proc = subprocess.run(["ip", "route", "add", "unreachable", cidr], capture_output=True, text=True)
            if proc.returncode == 0:
                self.block, self._route = block, cidr
                return
        raise RuntimeError(f"no free address block in {PREFIX}.0.0/16 for the test network")

    def _add_link(self, i: int, link: Link) -> None:
        if 8 * i + 2 > 254:
            raise ValueError("at most 31 links per test network")
        ends = []
        for side, role in (("a", link.left), ("b", link.right)):
            # Interface names are at most 15 characters; a root-side name must be unique on the
            # machine (the block number makes it so), one inside our namespace need not.
            dev = f"ekt{self.block}l{i}{side}" if role == "root" else f"l{i}{side}"
            ends.append((role, dev))
        (lrole, ldev), (rrole, rdev) = ends
        args = ["link", "add", "name", ldev]
        if lrole != "root":
            args += ["netns", self.ns(lrole)]
        args += ["type", "veth", "peer", "name", rdev]
        if rrole != "root":
            args += ["netns", self.ns(rrole)]
        ip(*args)
        self._root_devs += [dev for role, dev in ends if role == "root"]
        for n, (role, dev) in enumerate(ends, start=1):
            addr = f"{PREFIX}.{self.block}.{8 * i + n}"
            where = [] if role == "root" else ["-n", self.ns(role)]
            ip(*where, "addr", "add", f"{addr}/29", "dev", dev)
            ip(*where, "link", "set", dev, "up")
            other = lrole if role == rrole else rrole
            self._addresses[(role, other)] = addr

    def stop(self) -> None:
        # The kernel frees a deleted namespace (and the veth ends in it) later, asynchronously:
        # delete our root-side ends ourselves so their routes are gone when stop() returns.
        for dev in self._root_devs:
            ip("link", "del", dev, check=False)
        self._root_devs.clear()
        for name in reversed(self._namespaces):
            kill_namespace_processes(name)
            ip("netns", "del", name, check=False)
        self._namespaces.clear()
        if self._route:
            ip("route", "del", "unreachable", self._route, check=False)
            self._route = None


def wait_listening(netns: str, host: str, port: int, timeout: float = 10.0,
                   expect: bytes = b"", alive: Callable[[], bool] | None = None) -> None:
    """Wait until ``host:port`` inside ``netns`` accepts (and, if ``expect``, starts with it)."""
    import socket

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5) as s:
                if not expect:
                    return True
                s.settimeout(2)
                return s.recv(len(expect)).startswith(expect)
        except OSError:
            return False

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"server for {host}:{port} in {netns} exited")
        if in_netns(netns, probe):
            return
        time.sleep(0.03)
    raise RuntimeError(f"nothing listening on {host}:{port} in {netns} within {timeout} s")


def roles_of(links: Iterable[Link]) -> tuple[str, ...]:
    """Every non-root role named by ``links``, in order of first appearance."""
    seen: dict[str, None] = {}
    for link in links:
        for role in (link.left, link.right):
            if role != "root":
                seen.setdefault(role)
    return tuple(seen)
