"""Alerts on change, end to end through ``evidence-kit run``: a real sshd whose password is changed
between runs (chpasswd), a real SMTP server (aiosmtpd, STARTTLS + AUTH) and a real HTTP receiver."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.notify.signing import verify as verify_signature
from evidence_kit.redact import scan_bytes
from tests.helpers import assert_no_secrets, random_password
from tests.schedule.conftest import Keys, cli, set_password
from tests.servers.smtp import SmtpServer
from tests.servers.sshd import InventoryTarget, SshdTargets, build_inventory
from tests.servers.webhook import Reply, WebhookReceiver

FAST = {"timeouts": {"connect": 5, "banner": 5, "auth": 20, "command": 10}}
CLIENT = "it@contoso.example"


def write_inventory(folder: Path, sshd: SshdTargets, keys: Keys, smtp: SmtpServer, hook: WebhookReceiver,
                    retry: dict[str, Any] | None = None) -> tuple[Path, dict[str, str]]:
    inv = folder / "inventory.yaml"
    env = build_inventory(inv, [
        InventoryTarget("web-gw", sshd.account("linux"), sshd.port, extra=FAST),
        InventoryTarget("core-sw", sshd.account("cisco_ios"), sshd.port, extra=FAST),
    ])
    doc = yaml.safe_load(inv.read_text())
    doc["case"]["recipients"] = [keys.recipient]
    assert smtp.cert is not None
    doc["alerts"] = {
        "email": {"from": "evidence-kit <alerts@msp.example>", "to": ["noc@msp.example"], "client": CLIENT,
                  "smtp": {"host": smtp.host, "port": smtp.port, "username": smtp.username,
                           "password": "env:EKT_SMTP_PW", "cafile": str(smtp.cert.cert), "timeout": 10}},
        "webhook": {"url": hook.url("/hooks/contoso?token=abc"), "secret": "env:EKT_HOOK_SECRET",
                    "retry": retry or {"max_attempts": 3, "total_time": 20}},
    }
    inv.write_text(yaml.safe_dump(doc, sort_keys=False))
    return inv, {**os.environ, **env, "EKT_SMTP_PW": smtp.password, "EKT_HOOK_SECRET": hook.secret}


def run(inv: Path, folder: Path, keys: Keys, env: dict[str, str], *extra: str) -> Any:
    proc = cli(["run", str(inv), "--case", str(folder / "case"), "--sign-key", str(keys.sign_key),
                "--archive-dir", str(folder / "archives"), "--json", *extra], env)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_alert_once_on_a_credential_that_stops_working_and_once_when_it_recovers(
        own_sshd: SshdTargets, run_keys: Keys, smtp_server: SmtpServer, webhook: WebhookReceiver,
        tmp_path: Path) -> None:
    inv, env = write_inventory(tmp_path, own_sshd, run_keys, smtp_server, webhook)
    account = own_sshd.account("linux")
    mails_before = smtp_server.count()
    outputs = []

    first = run(inv, tmp_path, run_keys, env)
    outputs.append(first)
    assert first.returncode == 0, first.stdout + first.stderr
    assert smtp_server.count() == mails_before and not webhook.requests  # all working: nothing to say

    changed = random_password("Rotated")
    set_password(account.system_user, changed)
    try:
        second = run(inv, tmp_path, run_keys, env)
    finally:
        set_password(account.system_user, account.password)
    outputs.append(second)
    assert second.returncode == 1
    assert json.loads(second.stdout)["counts"] == {"login_ok": 1, "auth_failed": 1}
    assert smtp_server.count() == mails_before + 1 and len(webhook.requests) == 1  # exactly one alert each
    mail = smtp_server.messages[-1]
    msg = mail.message()
    text = msg.get_content()
    assert "web-gw" in str(msg["Subject"]) and "1 problem" in str(msg["Subject"])
    assert "PROBLEM   web-gw" in text and "credential stopped working" in text and "now auth_failed" in text
    assert "core-sw" not in text  # unchanged targets are not mentioned
    assert CLIENT in mail.rcpt_tos and CLIENT in str(msg["Cc"])  # the client is always copied
    assert mail.tls and mail.login == smtp_server.username
    body = json.loads(webhook.requests[-1].body)
    assert [(c["target"], c["kind"], c["now"], c["recovery"]) for c in body["changes"]] == [
        ("web-gw", "credential_failed", "auth_failed", False)]
    assert body["archive"]["name"].endswith(".age") and body["receipt"]["position"] == 2
    assert webhook.requests[-1].path == "/hooks/contoso?token=abc"

    third = run(inv, tmp_path, run_keys, env)  # the password is back: one recovery notice
    outputs.append(third)
    assert third.returncode == 0
    assert smtp_server.count() == mails_before + 2 and len(webhook.requests) == 2
    recovered = smtp_server.messages[-1].message()
    assert "1 recovery" in str(recovered["Subject"])
    assert "RECOVERED web-gw" in recovered.get_content() and "credential works again" in recovered.get_content()
    assert [(c["target"], c["kind"], c["recovery"]) for c in json.loads(webhook.requests[-1].body)["changes"]] == [
        ("web-gw", "credential_recovered", True)]

    fourth = run(inv, tmp_path, run_keys, env)  # nothing changed: no message
    outputs.append(fourth)
    assert fourth.returncode == 0
    assert smtp_server.count() == mails_before + 2 and len(webhook.requests) == 2

    for request in webhook.requests:  # the signature verifies with the shared secret
        delivery = verify_signature(webhook.secret, request.headers, request.body)
        assert delivery.endswith(".webhook") and ".run" in delivery

    # Each alert and the seal of each run are journaled (after the seal: the next archive has them).
    case = tmp_path / "case"
    assert check_journal(case / "journal.jsonl").ok
    alerts = [e for e in read_entries(case / "journal.jsonl") if e["event"] == "alert"]
    assert [(e["run"], e["data"]["channel"], e["data"]["delivered"]) for e in alerts] == [
        (2, "email", True), (2, "webhook", True), (3, "email", True), (3, "webhook", True)]
    assert len([e for e in read_entries(case / "journal.jsonl") if e["event"] == "run_sealed"]) == 4

    # No secret in any message, the case, the archives or what the command printed.
    secrets = [account.password, changed, own_sshd.account("cisco_ios").password, smtp_server.password,
               webhook.secret, "token=abc"]
    for mail in smtp_server.messages[mails_before:]:
        assert not scan_bytes(mail.data, secrets[:-1])
    for request in webhook.requests:
        assert not scan_bytes(request.body + json.dumps(request.headers).encode(), secrets[:-1])
    for proc in outputs:
        assert not scan_bytes((proc.stdout + proc.stderr).encode(), secrets)
    assert_no_secrets(tmp_path / "case", secrets)
    assert_no_secrets(tmp_path / "archives", secrets)


def test_a_failing_channel_is_journaled_never_fatal_and_told_again(
        own_sshd: SshdTargets, run_keys: Keys, smtp_server: SmtpServer, webhook: WebhookReceiver,
        tmp_path: Path) -> None:
    inv, env = write_inventory(tmp_path, own_sshd, run_keys, smtp_server, webhook,
                               retry={"max_attempts": 2, "total_time": 10})
    account = own_sshd.account("linux")
    assert run(inv, tmp_path, run_keys, env).returncode == 0
    set_password(account.system_user, random_password("Rotated"))
    try:
        webhook.script(Reply(503), Reply(503))  # the receiver is down for this run
        failed = run(inv, tmp_path, run_keys, env)
        assert failed.returncode == 1  # the run's own verdict, not the channel's
        data = json.loads(failed.stdout)
        hook = next(a for a in data["alerts"] if a["channel"] == "webhook")
        assert hook["delivered"] is False and "503" in hook["outcome"]
        assert any("alert via webhook" in w and "not delivered" in w for w in data["warnings"])
        assert "warning: alert via webhook" in failed.stderr
        assert data["seal"]["archive"]  # the evidence is sealed all the same
        emails = smtp_server.count()
        again = run(inv, tmp_path, run_keys, env)  # still failing: the webhook is told now, e-mail is not
        assert again.returncode == 1
    finally:
        set_password(account.system_user, account.password)
    assert smtp_server.count() == emails
    assert json.loads(webhook.requests[-1].body)["changes"][0]["kind"] == "credential_failed"
    alerts = [e["data"] for e in read_entries(tmp_path / "case" / "journal.jsonl") if e["event"] == "alert"]
    assert [(a["channel"], a["delivered"]) for a in alerts] == [("email", True), ("webhook", False), ("webhook", True)]


@pytest.mark.parametrize("problem", ["webhook_url", "smtp_login", "prompt"])
def test_bad_alert_input_is_one_line_exit_2_before_capture(
        problem: str, own_sshd: SshdTargets, run_keys: Keys, smtp_server: SmtpServer, webhook: WebhookReceiver,
        tmp_path: Path) -> None:
    inv, env = write_inventory(tmp_path, own_sshd, run_keys, smtp_server, webhook)
    doc = yaml.safe_load(inv.read_text())
    if problem == "webhook_url":
        doc["alerts"]["webhook"]["url"] = "https://exa mple.com/hook"
        expect = "field 'alerts.webhook.url'"
    elif problem == "smtp_login":
        env["EKT_SMTP_PW"] = "wrong-" + smtp_server.password
        expect = "login refused for account"
    else:
        doc["alerts"]["webhook"]["secret"] = "prompt"
        expect = "needs a terminal"
    inv.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = cli(["run", str(inv), "--case", str(tmp_path / "case"), "--sign-key", str(run_keys.sign_key),
                "--archive-dir", str(tmp_path / "archives")], env, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert str(inv) in lines[0] or problem == "smtp_login"
    assert not (tmp_path / "case").exists()  # nothing was captured
    assert not scan_bytes(proc.stderr.encode(), [smtp_server.password, env["EKT_SMTP_PW"]])
