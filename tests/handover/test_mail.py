"""handover --mail against the real aiosmtpd server (STARTTLS, AUTH required) of tests/servers/smtp.py."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.redact import scan_bytes
from tests.handover.conftest import World, unpack
from tests.seal.helpers import run_cli
from tests.servers.smtp import SmtpServer

CLIENT = "it@contoso.example"
NEW = "noc@newprovider.example"


def mail_args(srv: SmtpServer, *extra: str) -> list[str]:
    assert srv.cert is not None
    return ["--no-pdf", "--mail", "--mail-from", "Example MSP <handover@msp.example>", "--mail-to", NEW,
            "--smtp-host", srv.host, "--smtp-port", str(srv.port), "--smtp-user", srv.username,
            "--smtp-password", "env:EKH_SMTP_PW", "--smtp-ca", str(srv.cert.cert), *extra]


def _entries(case: Path, event: str) -> list[dict]:
    return [e for e in read_entries(case / "journal.jsonl") if e["event"] == event]


def test_mailed_to_the_new_provider_with_the_client_copied(mine: World, smtp_server: SmtpServer,
                                                           tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    env = {**mine.env, "EKH_SMTP_PW": smtp_server.password}
    out = tmp_path / "out"
    result = run_cli(mine.handover_args(mine.case, out, *mail_args(smtp_server, "--client-email", CLIENT,
                                                                   "--mail-encrypted")), env=env)
    assert result.exit_code == 0, result.output
    (mailed,) = _entries(mine.case, "handover_mailed")
    data = mailed["data"]
    got = smtp_server.find(data["message_id"])
    assert got is not None and got.tls and got.login == smtp_server.username
    assert got.rcpt_tos == (NEW, CLIENT) and data["accepted"] == [NEW, CLIENT]
    assert data["final_reply"]["code"] == 250 and "queued as" in data["final_reply"]["text"]
    assert data["transmittal_id"] == json.loads((out / "transmittal.json").read_text())["transmittal_id"]
    assert mailed["seq"] == _entries(mine.case, "handover")[0]["seq"] + 1 and check_journal(
        mine.case / "journal.jsonl").ok
    msg = got.message()
    assert msg["To"] == NEW and msg["Cc"] == CLIENT and "Bcc" not in msg
    parts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    on_disk = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(parts) == set(on_disk)  # letter, transmittal + signature + stamps + key, receipt, both .age files
    assert all(parts[name] == on_disk[name] for name in parts)  # byte for byte
    # No secret anywhere in what was sent except inside the encrypted package.
    folder = unpack(next(out.glob("*-credentials.age")), mine.client.identity, tmp_path / "pkg")
    secrets = [*mine.secrets, smtp_server.password, (folder / "passphrase.txt").read_text().strip()]
    assert not scan_bytes(got.data, secrets)
    assert not scan_bytes(result.output.encode(), secrets)
    assert not scan_bytes((mine.case / "journal.jsonl").read_bytes(), secrets)
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "sent " in logged and not scan_bytes(logged.encode(), secrets)  # every log record, the SMTP client's too


def test_refused_without_the_client_before_anything_is_made(mine: World, smtp_server: SmtpServer,
                                                            tmp_path: Path) -> None:
    before = smtp_server.count()
    env = {**mine.env, "EKH_SMTP_PW": smtp_server.password}
    out = tmp_path / "out"
    result = run_cli(mine.handover_args(mine.case, out, *mail_args(smtp_server)), env=env)
    assert result.exit_code == 2 and "--client-email" in result.stderr and "always among the recipients" in \
        result.stderr
    assert not out.exists() and smtp_server.count() == before and not _entries(mine.case, "handover")


def test_a_missing_smtp_password_stops_before_sealing(mine: World, smtp_server: SmtpServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(mine.handover_args(mine.case, out, *mail_args(smtp_server, "--client-email", CLIENT)),
                     env=mine.env)
    assert result.exit_code == 2 and "EKH_SMTP_PW is not set" in result.stderr
    assert not out.exists()


def test_server_refusing_the_client_sends_nothing_and_is_journaled(mine: World, smtp_server: SmtpServer,
                                                                   tmp_path: Path) -> None:
    before = smtp_server.count()
    env = {**mine.env, "EKH_SMTP_PW": smtp_server.password}
    out = tmp_path / "out"
    result = run_cli(mine.handover_args(mine.case, out, *mail_args(
        smtp_server, "--client-email", "refused-it@contoso.example")), env=env)
    assert result.exit_code == 2
    assert "refused required recipient" in result.stderr and "the mail was not sent" in result.stderr
    assert (out / "transmittal.json").is_file()  # the handover itself is complete
    assert smtp_server.count() == before
    (failed,) = _entries(mine.case, "handover_mail_failed")
    assert "refused-it@contoso.example" in failed["data"]["error"] and not _entries(mine.case, "handover_mailed")


def test_wrong_smtp_password_is_one_line_and_never_shown(mine: World, smtp_server: SmtpServer,
                                                         tmp_path: Path) -> None:
    wrong = "Wrong-Smtp-" + smtp_server.password[::-1]
    env = {**mine.env, "EKH_SMTP_PW": wrong}
    result = run_cli(mine.handover_args(mine.case, tmp_path / "out", *mail_args(smtp_server, "--client-email",
                                                                                 CLIENT)), env=env)
    assert result.exit_code == 2 and "login refused" in result.stderr and "535" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not scan_bytes(result.output.encode(), [wrong]) and not scan_bytes(
        (mine.case / "journal.jsonl").read_bytes(), [wrong])
