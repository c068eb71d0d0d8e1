"""POST a signed JSON notification to a webhook, retrying within bounds, never raising for it.

A failing channel must never stop a run: :func:`post_json` returns a :class:`WebhookDelivery`
recording each attempt (status, error, time taken), delivered or not; the caller journals it
and may call :meth:`WebhookDelivery.raise_for_failure`.

Retries: connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
(``Retry-After`` honoured); other answers (2xx success; 3xx, which is not followed, and 4xx)
are final, as is a certificate that is not accepted. Bounds: ``max_attempts`` and
``total_time``: a watchdog closes the socket of an attempt that reaches the deadline, so a
server that hangs or trickles cannot hold the run.

A webhook URL's path and query often carry a token (Slack, Teams, Discord): only the origin
(``https://host:port``) ever appears in results, logs and errors.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from evidence_kit.notify.errors import NotifyInputError, WebhookError
from evidence_kit.notify.signing import signed_headers
from evidence_kit.notify.tls import TlsSettings, client_context, describe_tls_failure, peer_sha256, pin_problem
from evidence_kit.redact import redact_logs
from evidence_kit.secrets import Secret

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429})  # and every 5xx


@dataclass(frozen=True)
class WebhookUrl:
    """A parsed http(s) URL. ``str()`` and ``repr()`` show the origin only."""

    scheme: str
    host: str
    port: int
    target: str = field(repr=False)  # path and query, sent on the request line only

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def __str__(self) -> str:
        return self.origin


def parse_webhook_url(text: object, *, file: str = "webhook", where: str = "url") -> WebhookUrl:
    """Parse ``text`` or raise a one-line :class:`NotifyInputError` (which never repeats it whole)."""
    def bad(problem: str) -> NotifyInputError:
        return NotifyInputError(file, problem, where)

    if not isinstance(text, str) or not text.strip():
        raise bad("must be an http:// or https:// URL")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise bad("URL contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise bad(f"URL does not parse ({exc})")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise bad(f"URL scheme {scheme + ':' if scheme else '(none)'} is not http: or https:")
    if not parts.hostname:
        raise bad("URL has no host")
    if parts.username is not None or parts.password is not None:
        raise bad("URL carries a user name or password; the shared secret signs requests instead")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookUrl(scheme, parts.hostname, port or (443 if scheme == "https" else 80), target)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds: at most ``max_attempts`` attempts and ``total_time`` seconds, waits included.

    The wait before attempt n+1 is ``first_delay * factor**(n-1)``, at most ``max_delay``; with
    ``jitter`` a random 50-100 % of it (many runs failing together do not retry in step).
    """

    max_attempts: int = 5
    first_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    total_time: float = 120.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.total_time <= 0 or self.first_delay < 0 or self.factor < 1:
            raise NotifyInputError("webhook settings", "needs max_attempts >= 1, total_time > 0, "
                                   "first_delay >= 0 and factor >= 1", "retry")

    def delay(self, attempt: int) -> float:
        base = min(self.max_delay, self.first_delay * self.factor ** (attempt - 1))
        return base * random.uniform(0.5, 1.0) if self.jitter else base


@dataclass(frozen=True)
class WebhookSettings:
    url: WebhookUrl
    secret: Secret  # the shared secret; revealed only to compute each signature
    tls: TlsSettings = field(default_factory=TlsSettings)
    timeout: float = 10.0  # seconds, for connecting and for each read
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = "evidence-kit"


@dataclass(frozen=True)
class WebhookAttempt:
    number: int
    started_at: str  # UTC, ISO 8601
    elapsed: float  # seconds
    status: int | None  # HTTP status, None when there was no answer
    reason: str | None  # HTTP reason phrase
    error: str | None  # why there was no answer (connection refused, timeout, TLS)
    server_cert_sha256: str | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """Every attempt at one notification, and how it ended."""

    origin: str
    delivery_id: str
    delivered: bool
    attempts: tuple[WebhookAttempt, ...]
    elapsed: float
    outcome: str  # one line: "delivered: 200 OK (attempt 3)" or why it gave up

    @property
    def status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None

    def raise_for_failure(self) -> None:
        if not self.delivered:
            raise WebhookError(f"webhook {self.origin}: {self.outcome}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Answer:
    status: int | None = None
    reason: str | None = None
    error: str | None = None
    cert: str | None = None
    retry_after: float | None = None
    final: bool = False  # no point retrying (4xx, untrusted certificate)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _attempt(s: WebhookSettings, ctx: ssl.SSLContext | None, body: bytes, headers: dict[str, str],
             budget: float) -> _Answer:
    """One POST, closed by a watchdog at ``budget`` seconds whatever the server does."""
    answer = _Answer()
    conn = http.client.HTTPConnection(s.url.host, s.url.port, timeout=min(s.timeout, budget))
    held: list[socket.socket] = []
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        for sock in held:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(budget, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        sock = socket.create_connection((s.url.host, s.url.port), min(s.timeout, budget))
        held.append(sock)
        if ctx is not None:
            tls_sock = ctx.wrap_socket(sock, server_hostname=s.tls.server_name or s.url.host)
            held.append(tls_sock)
            answer.cert = peer_sha256(tls_sock)
            problem = pin_problem(s.tls, answer.cert)
            if problem:
                answer.error, answer.final = f"{problem}; nothing was sent", True
                return answer
            sock = tls_sock
        conn.sock = sock
        conn.request("POST", s.url.target, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read(65536)  # the body is not kept: a receiver could echo anything back
        answer.status, answer.reason = resp.status, resp.reason
        answer.retry_after = _retry_after(resp.getheader("Retry-After"))
        answer.final = not (resp.status in RETRY_STATUSES or resp.status >= 500)
    except ssl.SSLCertVerificationError as exc:
        answer.error, answer.final = f"{describe_tls_failure(exc)}; nothing was sent", True
    except ssl.SSLError as exc:
        answer.error = describe_tls_failure(exc)
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            answer.error = "no answer before the total time limit"
        elif isinstance(exc, TimeoutError):
            answer.error = f"no answer within {min(s.timeout, budget):g} s"
        else:
            answer.error = (getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__)
    finally:
        watchdog.cancel()
        conn.close()
        for sock in held:
            sock.close()
    return answer


def post_json(
    settings: WebhookSettings,
    payload: object,
    *,
    delivery_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WebhookDelivery:
    """POST ``payload`` as JSON, signed (see :mod:`evidence_kit.notify.signing`), with retries.

    The body is ``json.dumps(payload, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` in UTF-8. ``delivery_id`` (default a random UUID) is the same on
    every retry so the receiver can drop duplicates. Never raises for the network or the
    server's answer: the result says what happened.
    """
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    delivery_id = delivery_id or str(uuid.uuid4())
    ctx = client_context(settings.tls) if settings.url.scheme == "https" else None
    secret = settings.secret.reveal()
    redact_logs(secret)
    policy = settings.retry
    start = time.monotonic()
    attempts: list[WebhookAttempt] = []
    outcome = ""
    delivered = False
    for number in range(1, policy.max_attempts + 1):
        budget = policy.total_time - (time.monotonic() - start)
        if budget <= 0:
            outcome = f"not delivered: the {policy.total_time:g} s limit passed after {number - 1} attempt(s)"
            break
        headers = {
            "Content-Type": "application/json", "User-Agent": settings.user_agent,
            **signed_headers(secret, delivery_id, body),
        }
        began, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="milliseconds")
        answer = _attempt(settings, ctx, body, headers, budget)
        attempts.append(WebhookAttempt(number, started_at.replace("+00:00", "Z"), round(time.monotonic() - began, 3),
                                       answer.status, answer.reason, answer.error, answer.cert))
        what = f"{answer.status} {answer.reason}" if answer.status is not None else answer.error
        if answer.status is not None and 200 <= answer.status < 300:
            delivered, outcome = True, f"delivered: {what} (attempt {number})"
            break
        if answer.final:
            outcome = f"not delivered: {what} (attempt {number}, not retried)"
            break
        if number == policy.max_attempts:
            outcome = f"not delivered after {number} attempts: last {what}"
            break
        wait = max(policy.delay(number), answer.retry_after or 0.0)
        left = policy.total_time - (time.monotonic() - start)
        if wait >= left:
            outcome = (f"not delivered: gave up after {number} attempt(s) within the {policy.total_time:g} s limit: "
                       f"last {what}")
            break
        log.info("webhook %s attempt %d: %s; retrying in %.1f s", settings.url.origin, number, what, wait)
        sleep(wait)
    del secret
    result = WebhookDelivery(settings.url.origin, delivery_id, delivered, tuple(attempts),
                             round(time.monotonic() - start, 3), outcome)
    (log.info if delivered else log.warning)("webhook %s %s: %s", settings.url.origin, delivery_id, outcome)
    return result
