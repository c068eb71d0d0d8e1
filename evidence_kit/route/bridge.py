"""Local listeners on 127.0.0.1 that carry a browser's or ldap3's connections through a route.

Neither Playwright nor ldap3 can dial through an SSH hop, and Playwright refuses SOCKS5 with a
password (docs/real-parts.md). Both can connect to a local port, so:

- :class:`ConnectBridge` is a small HTTP proxy (``CONNECT host:port`` for HTTPS, absolute-form
  requests for plain HTTP) given to the browser context as its proxy. The browser still asks for
  the real URL: the Host header, the TLS server name (SNI) and the certificate check stay those
  of the real site, and each connection goes out through the route. It answers only requests
  carrying its per-target token (``Proxy-Authorization``), so another local process cannot use
  an authenticated route; the token is a session secret (redacted like the rest).
- :class:`LocalForward` forwards a fixed destination (``ssh -L``) for ldap3 and for fetching a
  TLS chain; it accepts only the connections it was opened for (one by default) and then stops
  listening, so the window in which another local process could connect is the moment between
  listening and our own connect.

Each keeps a tally the driver journals at the end (``bridge_closed``): connections, the
destinations asked for, failures.
"""

from __future__ import annotations

import base64
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evidence_kit.drivers.base import TargetEnded

MAX_HEAD = 64 * 1024
Dial = Callable[[str, int], Any]


@dataclass
class Tally:
    connections: int = 0
    destinations: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, dest: str) -> None:
        self.connections += 1
        self.destinations[dest] = self.destinations.get(dest, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"connections": self.connections, "destinations": dict(self.destinations),
                "failures": self.failures[:20]}


class _Listener:
    """Accepts on 127.0.0.1:<free port> in a thread; each connection handled in its own thread."""

    def __init__(self, dial: Dial, name: str, limit: int | None) -> None:
        self.dial = dial
        self.tally = Tally()
        self._limit = limit
        self._accepted = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)  # so close() ends the accept loop
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=name, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._accepted += 1
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()
            if self._limit is not None and self._accepted >= self._limit:
                self._sock.close()  # nobody else gets in
                return

    def _serve_safely(self, conn: socket.socket) -> None:
        self._keep(conn)
        try:
            self.serve(conn)
        except TargetEnded as ended:
            self.tally.failures.append(ended.ending.detail)
            _close(conn)
        except Exception as exc:
            self.tally.failures.append(f"{type(exc).__name__}: {exc}")
            _close(conn)

    def serve(self, conn: socket.socket) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _keep(self, item: Any) -> None:
        with self._lock:
            self._open.add(item)

    def pump(self, a: Any, b: Any, first: bytes = b"") -> None:
        """Copy both ways until either side ends; then close both."""
        self._keep(b)
        if first:
            b.sendall(first)
        threading.Thread(target=_copy, args=(b, a), daemon=True).start()
        _copy(a, b)

    def close(self) -> None:
        self._stop.set()
        _close(self._sock)
        with self._lock:
            items, self._open = list(self._open), set()
        for item in items:
            _close(item)


class LocalForward(_Listener):
    """127.0.0.1:port -> ``dest`` through the route (``ssh -L``), for ``limit`` connections."""

    def __init__(self, dial: Dial, dest: tuple[str, int], limit: int | None = 1) -> None:
        self.dest = dest
        super().__init__(dial, f"forward-{dest[0]}:{dest[1]}", limit)

    def serve(self, conn: socket.socket) -> None:
        dest = f"{self.dest[0]}:{self.dest[1]}"
        self.tally.record(dest)
        upstream = self.dial(*self.dest)
        self.pump(conn, upstream)


class ConnectBridge(_Listener):
    """An HTTP proxy on 127.0.0.1 whose every connection goes out through the route."""

    USER = "evidence-kit"

    def __init__(self, dial: Dial) -> None:
        self.token = secrets.token_urlsafe(24)
        self._expected = "Basic " + base64.b64encode(f"{self.USER}:{self.token}".encode()).decode()
        super().__init__(dial, "connect-bridge", None)

    @property
    def playwright_proxy(self) -> dict[str, str]:
        """The browser context's ``proxy=`` settings."""
        return {"server": f"http://{self.address}", "username": self.USER, "password": self.token}

    def serve(self, conn: socket.socket) -> None:
        head, rest = _read_head(conn)
        if head is None:
            _close(conn)
            return
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].decode("latin-1").split(" ", 2)
        except ValueError:
            _reply(conn, 400, "Bad Request")
            return
        headers = [line for line in lines[1:] if line]
        auth = [h.split(b":", 1)[1].strip().decode("latin-1") for h in headers
                if h.lower().startswith(b"proxy-authorization:")]
        if auth != [self._expected]:
            _reply(conn, 407, "Proxy Authentication Required",
                   b'Proxy-Authenticate: Basic realm="evidence-kit route"\r\n')
            return
        if method.upper() == "CONNECT":
            host, port = _split_host(target, 443)
            dest = f"{host}:{port}"
            upstream = self._dial(conn, host, port, dest)
            if upstream is None:
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.pump(conn, upstream, rest)
            return
        if not target.lower().startswith("http://"):
            _reply(conn, 400, "Bad Request")
            return
        authority, _, path = target[len("http://"):].partition("/")
        host, port = _split_host(authority, 80)
        dest = f"{host}:{port}"
        upstream = self._dial(conn, host, port, dest)
        if upstream is None:
            return
        kept = [h for h in headers if not h.lower().startswith((b"proxy-", b"connection:", b"keep-alive:"))]
        # One request per connection: the origin closes after its answer, so a keep-alive browser
        # connection can never carry a request for another host to this one.
        request = f"{method} /{path} {version}\r\n".encode("latin-1") + b"\r\n".join(
            [*kept, b"Connection: close"]) + b"\r\n\r\n"
        self.pump(conn, upstream, request + rest)

    def _dial(self, conn: socket.socket, host: str, port: int, dest: str) -> Any:
        self.tally.record(dest)
        try:
            return self.dial(host, port)
        except TargetEnded as ended:
            self.tally.failures.append(ended.ending.detail)
        except Exception as exc:
            self.tally.failures.append(f"{dest}: {type(exc).__name__}: {exc}")
        _reply(conn, 502, "Bad Gateway")
        return None


def _split_host(authority: str, default: int) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = authority.partition(":")
    return host, int(port) if port.isdigit() else default


def _read_head(conn: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > MAX_HEAD:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _reply(conn: socket.socket, code: int, reason: str, extra: bytes = b"") -> None:
    try:
        conn.sendall(f"HTTP/1.1 {code} {reason}\r\n".encode() + extra
                     + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    _close(conn)


def _copy(src: Any, dst: Any) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except (OSError, EOFError):
        pass
    finally:
        _close(src)
        _close(dst)


def _close(item: Any) -> None:
    # shutdown() first: close() alone does not end a connection another thread is blocked
    # reading (Linux keeps it open until that recv returns), so the browser would never see the
    # end of a response and wait on a reused keep-alive connection forever.
    if isinstance(item, socket.socket):
        try:
            item.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    try:
        item.close()
    except Exception:  # noqa: S110 - the other side may have gone first
        pass


class BrowserRoute:
    """A web target's route, open for the browser: hops/proxy up, the CONNECT bridge listening.

    Made in a worker thread before the browser context (hop logins block); the web driver gives
    :attr:`proxy` to the context and :meth:`forward` to its own TLS handshake, and calls
    :meth:`close` when the login ends (journals ``bridge_closed`` with what the browser asked for).
    """

    def __init__(self, session: Any, opened: Any, dialer: Any) -> None:
        self.session, self.opened, self.dialer = session, opened, dialer
        self.bridge = ConnectBridge(opened.stream)
        session.add_secret(self.bridge.token)  # never in a trace, HAR or journal
        self._forwards: list[LocalForward] = []

    @classmethod
    def open(cls, session: Any, route: Any, timeouts: Any, host: str, port: int) -> BrowserRoute | None:
        """None for a direct route; else the route opened and ``host:port`` reached once through
        it (journaled as ``route_connected``), so a hop that cannot reach the site ends the target
        before a browser starts."""
        if route is None or route.direct:
            return None
        from evidence_kit.route.dial import RouteDialer

        dialer = RouteDialer()
        opened = None
        try:
            opened = dialer.open(session, route, timeouts)
            _close(opened.connect(host, port))
            made = cls(session, opened, dialer)
        except BaseException:
            if opened is not None:
                opened.close()
            dialer.close()
            raise
        session.event("bridge_opened", {"listen": made.bridge.address, "kind": "HTTP CONNECT proxy for the browser",
                                        "note": "the browser asks for the real URL; each connection goes out "
                                                "through the route (Host, TLS name and certificate unchanged)"})
        return made

    @property
    def proxy(self) -> dict[str, str]:
        return self.bridge.playwright_proxy

    def forward(self, host: str, port: int, limit: int = 2) -> LocalForward:
        """A local forward to ``host:port`` for our own TLS handshake (two tries: verified, then not)."""
        fwd = LocalForward(self.opened.stream, (host, port), limit=limit)
        self._forwards.append(fwd)
        return fwd

    def close(self) -> None:
        for fwd in self._forwards:
            fwd.close()
        self.bridge.close()
        try:
            self.session.event("bridge_closed", {"listen": self.bridge.address, **self.bridge.tally.as_dict()})
        finally:
            self.opened.close()
            self.dialer.close()
