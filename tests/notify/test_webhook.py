"""Webhooks to a real HTTP(S) receiver on 127.0.0.1 (tests/servers/webhook.py).

The receiver checks signatures the way docs/notify.md tells integrators to, with hmac alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.drivers.tls import colon_form
from evidence_kit.notify.errors import NotifyInputError, SignatureError, WebhookError
from evidence_kit.notify.signing import verify
from evidence_kit.notify.tls import TlsSettings
from evidence_kit.notify.webhook import RetryPolicy, WebhookSettings, parse_webhook_url, post_json
from evidence_kit.secrets import Secret
from tests.servers.webhook import Recorded, Reply, WebhookReceiver, closed_port_url

PAYLOAD = {"event": "credential_stopped_working", "target": "core-router", "was": "login_ok",
           "now": "auth_failed", "case": "contoso-2026-11", "text": "Grüße ✓"}
FAST = RetryPolicy(max_attempts=5, first_delay=0.05, factor=2.0, total_time=20.0, jitter=False)


def hook(receiver: WebhookReceiver | str, **kw: Any) -> WebhookSettings:
    url = receiver if isinstance(receiver, str) else receiver.url()
    secret = "unused-secret-Zq9" if isinstance(receiver, str) else receiver.secret
    base: dict[str, Any] = {"url": parse_webhook_url(url), "secret": Secret(secret, "env:HOOK_SECRET"),
                            "timeout": 5.0, "retry": FAST}
    return WebhookSettings(**(base | kw))


def receiver_check(secret: str, req: Recorded, tolerance: int = 300) -> bool:
    """What a receiver does, from docs/notify.md: recompute the MAC over id.timestamp.body."""
    delivery, ts = req.headers["x-evidence-kit-delivery"], req.headers["x-evidence-kit-timestamp"]
    mac = hmac.new(secret.encode(), f"{delivery}.{ts}.".encode() + req.body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(ts)) <= tolerance
    return fresh and hmac.compare_digest("sha256=" + mac, req.headers["x-evidence-kit-signature"])


def test_signature_verifies_with_the_shared_secret(webhook: WebhookReceiver) -> None:
    result = post_json(hook(webhook), PAYLOAD)
    assert result.delivered and result.status == 200 and len(result.attempts) == 1
    (req,) = webhook.requests
    assert req.path == "/hooks/evidence-kit" and req.headers["content-type"] == "application/json"
    assert json.loads(req.body) == PAYLOAD
    assert req.headers["x-evidence-kit-delivery"] == result.delivery_id
    assert receiver_check(webhook.secret, req)
    assert verify(webhook.secret, req.headers, req.body) == result.delivery_id

    with pytest.raises(SignatureError):
        verify(webhook.secret, req.headers, req.body + b" ")  # body changed
    with pytest.raises(SignatureError):
        verify("another-secret", req.headers, req.body)
    with pytest.raises(SignatureError):
        verify(webhook.secret, {**req.headers, "x-evidence-kit-delivery": "other-id"}, req.body)
    with pytest.raises(SignatureError):  # replayed later than the tolerance
        verify(webhook.secret, req.headers, req.body, now=int(req.headers["x-evidence-kit-timestamp"]) + 301)


def test_retries_then_success(webhook: WebhookReceiver) -> None:
    webhook.script(Reply(503), Reply(500))
    result = post_json(hook(webhook), PAYLOAD)
    assert result.delivered
    assert [a.status for a in result.attempts] == [503, 500, 200]
    assert [a.number for a in result.attempts] == [1, 2, 3]
    assert "attempt 3" in result.outcome
    assert len(webhook.requests) == 3
    assert {r.headers["x-evidence-kit-delivery"] for r in webhook.requests} == {result.delivery_id}
    assert all(receiver_check(webhook.secret, r) for r in webhook.requests)  # each attempt signed anew
    waits = [b.at - a.at for a, b in zip(webhook.requests, webhook.requests[1:], strict=False)]
    assert waits[1] >= waits[0] * 1.5 - 0.02  # exponential: 0.05 s, then 0.1 s


def test_retry_after_is_honoured(webhook: WebhookReceiver) -> None:
    webhook.script(Reply(429, {"Retry-After": "1"}))
    result = post_json(hook(webhook), PAYLOAD)
    assert [a.status for a in result.attempts] == [429, 200]
    assert webhook.requests[1].at - webhook.requests[0].at >= 0.95


def test_client_error_is_final(webhook: WebhookReceiver) -> None:
    webhook.script(Reply(400))
    result = post_json(hook(webhook), PAYLOAD)
    assert not result.delivered and [a.status for a in result.attempts] == [400]
    assert "not retried" in result.outcome
    with pytest.raises(WebhookError) as info:
        result.raise_for_failure()
    line = info.value.one_line()
    assert webhook.base in line and "400" in line and "/hooks" not in line


def test_bounded_attempts(webhook: WebhookReceiver) -> None:
    webhook.script(*[Reply(503)] * 10)
    result = post_json(hook(webhook, retry=RetryPolicy(max_attempts=3, first_delay=0.01, jitter=False)), PAYLOAD)
    assert not result.delivered and [a.status for a in result.attempts] == [503] * 3
    assert "after 3 attempts" in result.outcome
    assert len(webhook.requests) == 3


def test_bounded_total_time_when_the_server_hangs(webhook: WebhookReceiver) -> None:
    webhook.script(*[Reply(hang=60)] * 5)
    policy = RetryPolicy(max_attempts=10, first_delay=0.1, total_time=2.0, jitter=False)
    began = time.monotonic()
    result = post_json(hook(webhook, timeout=30.0, retry=policy), PAYLOAD)  # per-read timeout > total
    took = time.monotonic() - began
    assert not result.delivered and result.attempts
    assert all(a.status is None and a.error for a in result.attempts)
    assert "total time" in (result.attempts[-1].error or "")
    assert took < 2.0 + 2.0  # the limit, plus slack for a loaded machine: never the 30 s read timeout


def test_connection_refused_is_retried_and_bounded() -> None:
    result = post_json(hook(closed_port_url(), retry=RetryPolicy(max_attempts=3, first_delay=0.01, jitter=False)),
                       PAYLOAD)
    assert not result.delivered and len(result.attempts) == 3
    assert all(a.error == "Connection refused" for a in result.attempts)


def test_https_with_ca_file(webhooks: WebhookReceiver) -> None:
    assert webhooks.cert is not None
    result = post_json(hook(webhooks, tls=TlsSettings(cafile=webhooks.cert.cert)), PAYLOAD)
    assert result.delivered and result.attempts[0].server_cert_sha256 == webhooks.cert.sha256
    assert receiver_check(webhooks.secret, webhooks.requests[0])


def test_https_with_pin(webhooks: WebhookReceiver) -> None:
    assert webhooks.cert is not None
    result = post_json(hook(webhooks, tls=TlsSettings(pin_sha256="sha256:" + colon_form(webhooks.cert.sha256))),
                       PAYLOAD)
    assert result.delivered


@pytest.mark.parametrize("tls", [TlsSettings(pin_sha256="ab" * 32), TlsSettings()], ids=["wrong-pin", "untrusted"])
def test_https_certificate_not_accepted_nothing_sent(webhooks: WebhookReceiver, tls: TlsSettings) -> None:
    result = post_json(hook(webhooks, tls=tls), PAYLOAD)
    assert not result.delivered and len(result.attempts) == 1  # final: retrying cannot help
    assert "nothing was sent" in (result.attempts[0].error or "")
    assert webhooks.requests == []


@pytest.mark.parametrize("url", [
    "", "ftp://hooks.example/T0KEN", "http://", "https://hooks.example:99999/T0KEN", "notaurl",
    "http://user:T0KEN@hooks.example/", "https://hooks.example/a T0KEN", "https://hooks.example/\nT0KEN", 42,
])
def test_bad_url_is_one_line_input_error(url: object) -> None:
    with pytest.raises(NotifyInputError) as info:
        parse_webhook_url(url, file="inventory.yaml", where="alerts.webhook.url")
    line = info.value.one_line()
    assert line.startswith("inventory.yaml: alerts.webhook.url: ") and "\n" not in line
    assert "T0KEN" not in line


def test_url_shows_its_origin_only() -> None:
    url = parse_webhook_url("https://hooks.slack.example/services/T0/B0/S3CRETT0KEN?x=1")
    assert (url.origin, url.port) == ("https://hooks.slack.example:443", 443)
    assert url.target == "/services/T0/B0/S3CRETT0KEN?x=1"
    assert "S3CRET" not in str(url) and "S3CRET" not in repr(url)
    settings = WebhookSettings(url=url, secret=Secret("s", "env:S"))
    assert "S3CRET" not in repr(settings)


# The shell check printed in docs/notify.md, word for word.
SHELL_CHECK = """{ printf '%s.%s.' "$DELIVERY" "$TIMESTAMP"; cat body.json; } \\
  | openssl dgst -sha256 -hmac "$SECRET" | awk '{print "sha256=" $NF}'"""


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_documented_openssl_check(webhook: WebhookReceiver, tmp_path: Path) -> None:
    post_json(hook(webhook), PAYLOAD)
    (req,) = webhook.requests
    (tmp_path / "body.json").write_bytes(req.body)
    env = {"PATH": os.environ["PATH"], "SECRET": webhook.secret,
           "DELIVERY": req.headers["x-evidence-kit-delivery"], "TIMESTAMP": req.headers["x-evidence-kit-timestamp"]}
    out = subprocess.run(["bash", "-c", SHELL_CHECK], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True, timeout=30).stdout.strip()
    assert out == req.headers["x-evidence-kit-signature"]
