"""A real HTTP(S) webhook receiver on 127.0.0.1 that records every request and misbehaves on cue.

``webhook_receiver`` (plain HTTP) and ``webhooks_receiver`` (HTTPS, self-signed certificate
made here) are session-scoped; the function-scoped ``webhook`` and ``webhooks`` hand the same
servers over reset (no requests, no script). A test scripts the next answers::

    webhook.script(Reply(503), Reply(500), Reply(429, {"Retry-After": "1"}), Reply(hang=30))

then the receiver answers 200. A hanging answer holds the connection until ``hang`` seconds
pass or the fixture releases it. The TLS handshake runs in the connection's own thread, so a
client that stalls or drops it blocks nothing else.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import random_password
from tests.servers.tlscert import CertFiles, make_cert


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to hold the request before answering


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() when the body had arrived


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver

    def finish_request(self, request: Any, client_address: Any) -> None:
        ctx = self.receiver.tls_context
        if ctx is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            tls = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            self.receiver.tls_failures += 1
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer (after a timeout) is expected here


@dataclass
class WebhookReceiver:
    base: str
    secret: str
    cert: CertFiles | None
    tls_context: ssl.SSLContext | None
    requests: list[Recorded] = field(default_factory=list)
    tls_failures: int = 0
    _script: deque[Reply] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    httpd: _Server | None = None

    def url(self, path: str = "/hooks/evidence-kit") -> str:
        return self.base + path

    def script(self, *replies: Reply) -> None:
        with self.lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        with self.lock:
            return self._script.popleft() if self._script else Reply()

    def record(self, item: Recorded) -> None:
        with self.lock:
            self.requests.append(item)

    def reset(self) -> None:
        self.release.set()  # let hanging handlers of the previous test go
        with self.lock:
            self.requests.clear()
            self._script.clear()
            self.tls_failures = 0
        self.release = threading.Event()


def _handler(receiver: WebhookReceiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.record(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                     body, time.monotonic()))
            reply = receiver.next_reply()
            if reply.hang:
                receiver.release.wait(reply.hang)
            payload = b"ok\n" if reply.status < 300 else b"try again\n"
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up waiting

    return Handler


def start_receiver(folder: Path | None) -> WebhookReceiver:
    """HTTPS with a certificate made in ``folder``; plain HTTP when ``folder`` is None."""
    cert = make_cert(folder) if folder is not None else None
    httpd = _Server(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler, bind_and_activate=True)
    port = httpd.server_address[1]
    scheme = "https" if cert else "http"
    receiver = WebhookReceiver(f"{scheme}://127.0.0.1:{port}", random_password("Hook"), cert,
                               cert.server_context() if cert else None, httpd=httpd)
    httpd.receiver = receiver
    httpd.RequestHandlerClass = _handler(receiver)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return receiver


def _serve(folder: Path | None) -> Iterator[WebhookReceiver]:
    receiver = start_receiver(folder)
    try:
        yield receiver
    finally:
        receiver.release.set()
        assert receiver.httpd is not None
        receiver.httpd.shutdown()
        receiver.httpd.server_close()


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    yield from _serve(None)


@pytest.fixture(scope="session")
def webhooks_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookReceiver]:
    yield from _serve(tmp_path_factory.mktemp("webhook-tls"))


@pytest.fixture
def webhook(webhook_receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    webhook_receiver.reset()
    yield webhook_receiver
    webhook_receiver.reset()


@pytest.fixture
def webhooks(webhooks_receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    webhooks_receiver.reset()
    yield webhooks_receiver
    webhooks_receiver.reset()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
