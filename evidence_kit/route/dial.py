"""Opening a target's route at capture time: proxy, hops, and the connection to the target.

The first connection goes to the first hop (or, without hops, to the target) — directly, or
through the route's SOCKS5 / HTTP CONNECT proxy (python-socks; SOCKS5 lets the proxy resolve
names, as ``socks5h`` does). Each hop is an SSH connection (route/sshlink.py: host key judged
before any credential, then login) whose ``direct-tcpip`` channel is the socket of the next hop,
and the last hop's channel is the target's socket. Hop connections are shared per run
(route/pool.py) unless a hop says ``reuse: false``.

What the journal gets, per target: ``route`` (the plan), the ssh_config directives used and
ignored, per hop ``hop_*`` events (or ``hop_reused``), ``proxy_connected`` (the URL without
credentials), and ``route_connected``: every hop's address, host key, check and login, the proxy,
the local address of the first connection and the address the last hop was asked to connect to.
Every failure ends the target naming the hop or proxy (``hop 'bastion' (h:22): ...``). A stopped
run closes every hop connection and channel this target uses (``session.on_cancel``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evidence_kit.case.journal import utc_now
from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import TargetEnded, end
from evidence_kit.route.model import DIRECT, Hop, Proxy, Route
from evidence_kit.route.pool import HopEntry, HopPool
from evidence_kit.route.sshlink import OPEN_FAILURES, Link, authenticate, check_host_key, connect_tcp, handshake

if TYPE_CHECKING:
    import paramiko

    from evidence_kit.case.session import TargetSession
    from evidence_kit.profiles.target import Timeouts


class RouteDialer:
    """Opens routes for one driver during one run; owns the run's shared hop connections."""

    def __init__(self) -> None:
        self.pool = HopPool()

    def open(self, session: TargetSession, route: Route | None, timeouts: Timeouts) -> OpenRoute:
        """Establish ``route`` (every hop up, checked and logged into) for one target."""
        opened = OpenRoute(self, session, route or DIRECT, timeouts)
        try:
            opened.establish()
        except BaseException:
            opened.close()
            raise
        return opened

    def close(self) -> None:
        self.pool.close()


@dataclass
class OpenRoute:
    dialer: RouteDialer
    session: TargetSession
    route: Route
    timeouts: Timeouts
    hops: list[dict[str, Any]] = field(default_factory=list)  # per hop: facts for the route summary
    proxy_facts: dict[str, Any] | None = None
    local: str = ""
    _last: paramiko.Transport | None = None
    _own: list[Any] = field(default_factory=list)  # transports and channels this target must close
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- establishing ---------------------------------------------------------------------------

    def establish(self) -> None:
        route = self.route
        if route.direct:
            return
        self.session.event("route", {"summary": route.summary(), **route.describe()})
        if route.ssh_config is not None:
            self.session.event("ssh_config", route.ssh_config.describe())
        previous: paramiko.Transport | None = None
        for i, hop in enumerate(route.hops):
            shared = all(h.reuse for h in route.hops[: i + 1])
            parent = previous

            def opener(hop: Hop = hop, i: int = i, parent: paramiko.Transport | None = parent) -> HopEntry:
                return self._open_hop(hop, i, parent)

            if shared:
                key = (route.proxy, route.hops[: i + 1])
                entry, reused = self.dialer.pool.get(key, self.session.name, opener)
                self.session.on_cancel(entry.transport.close)
                if reused:
                    self.session.event("hop_reused", {**entry.facts, "opened_by": entry.opened_by,
                                                      "opened_at": entry.opened_at,
                                                      "note": "the run's connection to this hop; its host key "
                                                              "was checked and its login made when it was opened"})
            else:
                entry = opener()
                self._own.append(entry.transport)
            if i == 0:
                self.local = entry.local
            self.hops.append({**entry.facts, "reused_connection": shared})
            previous = entry.transport
        self._last = previous

    def _open_hop(self, hop: Hop, index: int, parent: paramiko.Transport | None) -> HopEntry:
        """Open, check and log into ``hop``; a failure's ending says where (``failed_at``)."""
        try:
            return self._open_hop_checked(hop, index, parent)
        except TargetEnded as ended:
            e = ended.ending
            if "failed_at" in e.data:
                raise
            raise TargetEnded(e.outcome, e.detail, **dict(e.data), failed_at=f"hop '{hop.name}'") from None

    def _open_hop_checked(self, hop: Hop, index: int, parent: paramiko.Transport | None) -> HopEntry:
        started = time.monotonic()
        local = ""
        if parent is None:
            sock = self._first_leg(hop.host, hop.port, hop.who)
            local = self.local
        else:
            # The hop's connection owns this channel (closing it closes the channel): not ours to
            # close when this target ends, since other targets may share the hop (route/pool.py).
            sock = self._channel(parent, self.route.hops[index - 1], hop.host, hop.port, record=False)
        link = Link(self.session, hop.host, hop.port, hop=hop.name)
        handshake(link, sock, self.timeouts, started=started)
        try:
            check_host_key(link, hop.host_keys)
            authenticate(link, hop.login, self.timeouts)
        except BaseException:
            assert link.transport is not None
            link.transport.close()
            raise
        assert link.transport is not None
        return HopEntry(link.transport, link.facts(), self.session.name, utc_now(), local)

    def _first_leg(self, host: str, port: int, who: str) -> Any:
        """The first TCP connection: through the proxy when the route has one, else direct."""
        proxy = self.route.proxy
        if proxy is None:
            sock = connect_tcp_named(self.session, host, port, self.timeouts.connect, who)
        else:
            sock = self._through_proxy(proxy, host, port)
        local = sock.getsockname()
        self.local = f"{local[0]}:{local[1]}"
        return sock

    def _through_proxy(self, proxy: Proxy, host: str, port: int) -> Any:
        from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
        from python_socks.sync import Proxy as SocksProxy

        password = self.session.secret(proxy.password) if proxy.password else None
        kind = ProxyType.SOCKS5 if proxy.scheme == "socks5" else ProxyType.HTTP
        client = SocksProxy(kind, proxy.host, proxy.port, username=proxy.username,
                            password=password.reveal() if password else None,
                            rdns=True if proxy.scheme == "socks5" else None)
        t = self.timeouts.connect
        started = time.monotonic()
        dest = f"{host}:{port}"
        try:
            sock = client.connect(host, port, timeout=t)
        except ProxyConnectionError as exc:
            end(Outcome.UNREACHABLE, f"{proxy.who}: cannot connect to the proxy: {exc}", failed_at=proxy.who)
        except ProxyTimeoutError:
            end(Outcome.TIMEOUT, f"{proxy.who}: no answer from the proxy within {t:g} s", failed_at=proxy.who)
        except ProxyError as exc:
            text = str(exc)
            if _proxy_auth_refused(text):
                end(Outcome.AUTH_FAILED, f"{proxy.who} refused the proxy credentials of "
                    f"{proxy.username or '(no user)'}: {text}", failed_at=proxy.who)
            end(Outcome.UNREACHABLE, f"{proxy.who} could not connect to {dest}: {text}", failed_at=proxy.who)
        except OSError as exc:
            end(Outcome.UNREACHABLE, f"{proxy.who}: {exc}", failed_at=proxy.who)
        self.session.on_cancel(sock.close)
        peer, local = sock.getpeername(), sock.getsockname()
        self.proxy_facts = {**proxy.describe(), "proxy_address": f"{peer[0]}:{peer[1]}",
                            "local": f"{local[0]}:{local[1]}", "destination": dest,
                            "resolved_by": "the proxy" if proxy.scheme == "socks5" else "the proxy (HTTP CONNECT)"}
        self.session.event("proxy_connected", {**self.proxy_facts, "seconds": round(time.monotonic() - started, 3)})
        return sock

    def _channel(self, transport: paramiko.Transport, hop: Hop, host: str, port: int,
                 record: bool = True) -> paramiko.Channel:
        """A ``direct-tcpip`` channel through ``hop`` to ``host:port``."""
        import paramiko

        t = self.timeouts.connect
        origin = self.local.rpartition(":")
        src = (origin[0] or "127.0.0.1", int(origin[2]) if origin[2].isdigit() else 0)
        try:
            channel = transport.open_channel("direct-tcpip", (host, port), src, timeout=t)
        except paramiko.ChannelException as exc:
            # paramiko's exception says 'Connect failed' for every refusal; the hop's own reason
            # is in its log record, kept by OPEN_FAILURES (docs/real-parts.md).
            reason = OPEN_FAILURES.take(transport) or exc.text or "open failed"
            end(Outcome.UNREACHABLE, f"{hop.who} could not open a connection to {host}:{port} "
                f"(the hop answered: {reason})", failed_at=f"hop '{hop.name}'")
        except paramiko.SSHException as exc:
            if "timeout" in str(exc).lower():
                end(Outcome.UNREACHABLE, f"{hop.who}: no connection to {host}:{port} within {t:g} s",
                    failed_at=f"hop '{hop.name}'")
            end(Outcome.ERROR, f"{hop.who}: the connection to the hop was lost ({exc})", failed_at=f"hop '{hop.name}'",
                lost=not transport.is_active())
        except (EOFError, OSError) as exc:
            end(Outcome.ERROR, f"{hop.who}: the connection to the hop was lost ({exc or type(exc).__name__})",
                failed_at=f"hop '{hop.name}'", lost=True)
        if record:
            self.session.on_cancel(channel.close)
            with self._lock:
                self._own.append(channel)
        return channel

    # -- using ------------------------------------------------------------------------------

    def connect(self, host: str, port: int) -> Any:
        """A connection to ``host:port`` through the route, journaled (``route_connected``)."""
        if self.route.direct:
            return connect_tcp(self.session, host, port, self.timeouts.connect)
        started = time.monotonic()
        if self._last is None:
            sock = self._first_leg(host, port, f"{host}:{port}")
            by = self.route.proxy.who if self.route.proxy else ""
        else:
            try:
                sock = self._channel(self._last, self.route.hops[-1], host, port)
            except TargetEnded as ended:
                # A shared hop connection can die between targets (docs/real-parts.md: OpenSSH
                # drops a whole connection for one stray channel packet): open it again, once.
                if not ended.ending.data.get("lost") or not all(h.reuse for h in self.route.hops):
                    raise
                self.session.event("hop_lost", {"hop": self.route.hops[-1].name, "detail": ended.ending.detail,
                                                "note": "the run's shared connection ended; opening it again once"})
                self.hops.clear()
                self.establish()
                assert self._last is not None
                sock = self._channel(self._last, self.route.hops[-1], host, port)
            by = f"hop '{self.route.hops[-1].name}'"
        facts = self.facts(host, port, by)
        self.session.event("route_connected", {**facts, "seconds": round(time.monotonic() - started, 3)})
        via = [f"proxy {self.route.proxy.url}"] if self.route.proxy else []
        via += [f"hop {h['hop']}" for h in self.hops]
        self.session.set_identity(route=self.summary(host, port), route_destination=f"{host}:{port}",
                                  route_via=" -> ".join(via))
        return sock

    def stream(self, host: str, port: int) -> Any:
        """Another connection through the established route, for a local bridge (not journaled one
        by one; raises :class:`~evidence_kit.drivers.base.TargetEnded` when it cannot be made)."""
        if self._last is None:
            if self.route.proxy is None:
                import socket

                return socket.create_connection((host, port), timeout=self.timeouts.connect)
            return self._through_proxy_quiet(host, port)
        return self._channel(self._last, self.route.hops[-1], host, port, record=True)

    def _through_proxy_quiet(self, host: str, port: int) -> Any:
        from python_socks import ProxyType
        from python_socks.sync import Proxy as SocksProxy

        proxy = self.route.proxy
        assert proxy is not None
        password = self.session.secret(proxy.password) if proxy.password else None
        kind = ProxyType.SOCKS5 if proxy.scheme == "socks5" else ProxyType.HTTP
        client = SocksProxy(kind, proxy.host, proxy.port, username=proxy.username,
                            password=password.reveal() if password else None,
                            rdns=True if proxy.scheme == "socks5" else None)
        sock = client.connect(host, port, timeout=self.timeouts.connect)
        with self._lock:
            self._own.append(sock)
        return sock

    def facts(self, host: str, port: int, by: str) -> dict[str, Any]:
        return {"summary": self.summary(host, port), "hops": self.hops, "proxy": self.proxy_facts,
                "local": self.local, "destination": f"{host}:{port}", "connected_by": by,
                "note": "the destination is the address the last hop (or the proxy) was asked to connect to; "
                        "it resolved any name itself"}

    def summary(self, host: str, port: int) -> str:
        parts = [f"proxy {self.route.proxy.url}"] if self.route.proxy else []
        for h in self.hops:
            check = h.get("host_key_check") or "unchecked"
            parts.append(f"hop {h['hop']} ({h['address']}, {h['host_key']}, {check})")
        return " -> ".join([*parts, f"{host}:{port}"])

    def close(self) -> None:
        """Close this target's own channels and hop connections (shared ones stay for the run)."""
        with self._lock:
            own, self._own = list(reversed(self._own)), []
        for item in own:
            try:
                item.close()
            except Exception:  # noqa: S110 - closing a dead connection must not hide the outcome
                pass


def connect_tcp_named(session: TargetSession, host: str, port: int, timeout: float, who: str) -> Any:
    """A direct TCP connection to a hop: the failure names the hop."""
    try:
        return connect_tcp(session, host, port, timeout)
    except TargetEnded as ended:
        e = ended.ending
        raise TargetEnded(e.outcome, f"{who}: {e.detail}", failed_at=who.split(" (")[0]) from None


def _proxy_auth_refused(text: str) -> bool:
    low = text.lower()
    return "authentication" in low or " 401" in low or " 407" in low or low.startswith(("401", "407"))
