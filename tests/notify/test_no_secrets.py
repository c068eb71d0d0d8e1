"""No SMTP password or webhook secret in anything a sender leaves behind: log records (smtplib's
protocol trace at debug level included), stdout/stderr, results, errors and what servers got."""

from __future__ import annotations

import base64
import json
import logging
import traceback
from pathlib import Path

import pytest

from evidence_kit.notify.errors import NotifyError
from evidence_kit.notify.smtp import send_message
from evidence_kit.notify.tls import TlsSettings
from evidence_kit.notify.webhook import RetryPolicy, post_json
from evidence_kit.redact import scan_bytes
from evidence_kit.secrets import Secret
from tests.helpers import assert_no_secrets, random_password
from tests.notify.test_smtp import CLIENT, settings, transmittal
from tests.notify.test_webhook import PAYLOAD, hook
from tests.servers.smtp import SmtpServer
from tests.servers.webhook import Reply, WebhookReceiver, closed_port_url


def _error_text(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


def test_no_secret_in_anything_captured(
    smtp_server: SmtpServer, smtps_server: SmtpServer, webhook: WebhookReceiver, webhooks: WebhookReceiver,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = random_password("WrongSmtp")
    captured: list[str] = []

    # SMTP with the protocol trace on: a delivery, a refused login, implicit TLS.
    for srv, kw in ((smtp_server, {}), (smtp_server, {"password": Secret(wrong, "env:SMTP_PASSWORD")}),
                    (smtps_server, {})):
        try:
            delivery = send_message(transmittal(), settings(srv, debug=True, **kw), required_recipients=[CLIENT])
            captured += [repr(delivery), json.dumps(delivery.as_dict())]
            got = srv.find(delivery.message_id)
            assert got is not None and got.login == srv.username  # the password was used
            captured.append(got.data.decode("ascii"))
        except NotifyError as exc:
            captured.append(_error_text(exc))

    # Webhooks: delivered after retries, refused connection, a wrong pin.
    webhook.script(Reply(503), Reply(500))
    fast = RetryPolicy(max_attempts=3, first_delay=0.01, jitter=False)
    results = [
        post_json(hook(webhook, retry=fast), PAYLOAD),
        post_json(hook(closed_port_url(), secret=Secret(webhook.secret, "env:HOOK_SECRET"), retry=fast), PAYLOAD),
        post_json(hook(webhooks, tls=TlsSettings(pin_sha256="ab" * 32)), PAYLOAD),
    ]
    for result in results:
        captured += [repr(result), json.dumps(result.as_dict())]
        try:
            result.raise_for_failure()
        except NotifyError as exc:
            captured.append(_error_text(exc))
    captured += [json.dumps(r.headers) + r.body.decode() for r in webhook.requests]

    out, err = capfd.readouterr()
    records = [f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records]
    # The trace was on and reached the login: the scan below is not vacuous.
    assert any("ehlo" in line.lower() for line in records)
    assert any("[AUTH exchange withheld]" in line for line in records)
    assert err == "" and out == ""  # smtplib's trace never goes to stderr

    secrets: list[str] = [smtp_server.password, smtps_server.password, wrong, webhook.secret, webhooks.secret]
    # The scanner catches the way AUTH PLAIN carries a password (base64 of "\0user\0password").
    blob = base64.b64encode(f"\0{smtp_server.username}\0{smtp_server.password}".encode())
    assert scan_bytes(b"send: 'AUTH PLAIN " + blob + b"'", secrets)

    everything = "\n".join([caplog.text, *records, out, err, *captured]).encode("utf-8")
    assert scan_bytes(everything, secrets) == []
    (tmp_path / "captured.txt").write_bytes(everything)
    assert_no_secrets(tmp_path, secrets)

