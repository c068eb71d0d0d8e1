"""The SMB driver through the real capture path against a real standalone smbd (tests/servers/smbd.py).

One capture run (inventory YAML, the built-in ``windows_smb`` profile, ``env:`` secrets) covers
every target; the tests read its case folder: outcomes, identity, journal, transcript, record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit.capture import RunOptions, capture
from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.case.outcome import Outcome
from evidence_kit.errors import InventoryError
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from tests.helpers import CaptureRun, assert_no_secrets

WRONG = "Wrong-Smb-pa55word!%+/"


@dataclass
class SmbRun(CaptureRun):
    RECORD = "smb-record.json"
    TRANSCRIPT = "smb-transcript.txt"


def write_inventory(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({
        "case": {"client": "Contoso Ltd", "provider": "Example MSP", "technician": "Test Runner"},
        "targets": rows}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def smb_run(smbd_server, tmp_path_factory: pytest.TempPathFactory) -> SmbRun:
    srv = smbd_server
    work = tmp_path_factory.mktemp("smb-capture")
    env: dict[str, str] = {}
    rows: list[dict[str, Any]] = []

    def add(name: str, role: str, password: str | None = None, **extra: Any) -> None:
        var = f"EKT_SMB_{name.upper().replace('-', '_')}"
        env[var] = password if password is not None else srv.account(role).password
        rows.append({"name": name, "profile": "windows_smb", "host": srv.host, "port": srv.port,
                     "username": srv.account(role).username, "password": f"env:{var}", **extra})

    add("admin", "admin", domain=srv.workgroup)
    add("admin-downlevel", "admin", username=f"{srv.workgroup}\\{srv.account('admin').username}")
    add("plain", "plain")
    add("plain-logon-expected", "plain", expected="logon")
    add("wrong-password", "plain", password=WRONG)
    add("disabled", "disabled")
    add("closed", "plain", port=srv.closed_port)
    add("silent", "plain", port=srv.silent_port, timeouts={"connect": 2})
    inv = load_inventory(write_inventory(work / "inventory.yaml", rows), ProfileRegistry(use_env=False))
    report = capture(inv, work / "case", _resolver(env), RunOptions(concurrency=3))
    return SmbRun(report, work / "case", [*srv.secrets(), WRONG])


def _resolver(env: dict[str, str]) -> Any:
    from evidence_kit.secrets import SecretResolver

    return SecretResolver(environ=env)


def test_no_secret_anywhere_in_the_case(smb_run: SmbRun) -> None:
    assert_no_secrets(smb_run.root, smb_run.secrets)
    assert check_journal(smb_run.root / "journal.jsonl").ok


@pytest.mark.parametrize("name", ["admin", "admin-downlevel"])
def test_admin_opens_admin_share(smb_run: SmbRun, smbd_server, name: str) -> None:
    result = smb_run.result(name)
    assert result.outcome is Outcome.LOGIN_OK, result.detail
    assert "ADMIN$" in result.detail and f"{smbd_server.workgroup}\\" in result.detail
    ident = result.identity
    assert ident["account"] == f"{smbd_server.workgroup}\\{smbd_server.account('admin').username}"
    assert ident["dialect"] == "3.1.1" and ident["session"].startswith("signed")
    assert ident["server_netbios"] == smbd_server.netbios_name
    assert ident["server_domain"] and ident["privilege"] == "local administrator (ADMIN$ opened)"
    assert ident["shares_opened"] == "IPC$, ADMIN$, C$"
    shares = [e["data"]["share"] for e in smb_run.events(name, "smb_tree_connect")]
    assert shares == ["IPC$", "ADMIN$", "C$"]
    assert smb_run.events(name, "smb_server")[0]["data"]["netbios_computer"] == smbd_server.netbios_name
    record = smb_run.record(name)
    assert record["proof"]["admin_share"] == "ADMIN$" and record["proof"]["dialect"] == "3.1.1"
    assert [s["step"] for s in record["steps"]][:3] == ["negotiate", "ntlm_challenge", "session_setup"]
    text = smb_run.transcript(name)
    assert "password=[not recorded]" in text and "tree_connect" in text and "outcome         login_ok" in text


def test_plain_user_is_limited_with_shares_named(smb_run: SmbRun) -> None:
    result = smb_run.result("plain")
    assert result.outcome is Outcome.LOGIN_LIMITED, result.detail
    assert "no administrative share" in result.detail and "IPC$" in result.detail
    assert result.identity["privilege"] == "no administrative share"
    denied = {e["data"]["share"]: e["data"]["status"] for e in smb_run.events("plain", "smb_tree_connect")
              if not e["data"]["ok"]}
    assert denied == {"ADMIN$": "STATUS_ACCESS_DENIED", "C$": "STATUS_ACCESS_DENIED"}


def test_expected_logon_makes_a_plain_logon_ok(smb_run: SmbRun) -> None:
    result = smb_run.result("plain-logon-expected")
    assert result.outcome is Outcome.LOGIN_OK, result.detail
    assert "not expected" in result.detail


@pytest.mark.parametrize(("name", "status", "words"), [
    ("wrong-password", "STATUS_LOGON_FAILURE", "bad password"),
    ("disabled", "STATUS_ACCOUNT_DISABLED", "disabled"),
])
def test_refusals_say_why(smb_run: SmbRun, name: str, status: str, words: str) -> None:
    result = smb_run.result(name)
    assert result.outcome is Outcome.AUTH_FAILED, result.detail
    assert status in result.detail and words in result.detail
    session = smb_run.events(name, "smb_session")[0]["data"]
    assert session == {**session, "ok": False, "status": status}
    assert result.identity["dialect"] == "3.1.1"  # the server's facts are kept for a refusal too
    assert not smb_run.events(name, "smb_tree_connect")


def test_no_server(smb_run: SmbRun) -> None:
    assert smb_run.result("closed").outcome is Outcome.UNREACHABLE
    silent = smb_run.result("silent")
    assert silent.outcome is Outcome.TIMEOUT, silent.detail
    assert "smb-transcript.txt" in " ".join(silent.artifacts)


@pytest.mark.parametrize(("extra", "problem"), [
    ({"username": "CORP\\admin", "domain": "CORP"}, "names its domain already"),
    ({"username": "admin@corp.example", "domain": "CORP"}, "is a UPN"),
    ({"username": "bad\\"}, "user name is empty"),
    ({"certificate": "ab" * 32}, "no TLS certificate"),
    ({"expected": "domain_admins"}, "must be one of admin, logon"),
    ({"password": None}, "field 'password': is required"),
])
def test_inventory_refuses_bad_windows_targets(tmp_path: Path, extra: dict[str, Any], problem: str) -> None:
    row = {"name": "t", "profile": "windows_smb", "host": "10.0.0.5", "username": "admin",
           "password": "env:X", **extra}
    row = {k: v for k, v in row.items() if v is not None}
    with pytest.raises(InventoryError) as err:
        load_inventory(write_inventory(tmp_path / "inv.yaml", [row]), ProfileRegistry(use_env=False))
    line = err.value.one_line()
    assert "target 't'" in line and problem in line, line


def test_an_interrupt_ends_a_waiting_smb_connection_at_once(smbd_server, tmp_path: Path) -> None:
    """Ctrl-C while the server keeps silent: the cancel hook disconnects, the target is recorded."""
    import signal
    import threading
    import time

    from evidence_kit.capture import Progress

    rows = [{"name": "silent", "profile": "windows_smb", "host": smbd_server.host, "port": smbd_server.silent_port,
             "username": "nobody", "password": "env:EKT_SMB_X", "timeouts": {"connect": 120}}]
    inv = load_inventory(write_inventory(tmp_path / "inventory.yaml", rows), ProfileRegistry(use_env=False))
    main = threading.main_thread().ident or 0

    def interrupt_soon(_target: Any) -> None:
        threading.Timer(1.0, lambda: signal.pthread_kill(main, signal.SIGINT)).start()

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        capture(inv, tmp_path / "case", _resolver({"EKT_SMB_X": "irrelevant-pw-1"}), RunOptions(concurrency=1),
                progress=Progress(started=interrupt_soon))
    assert time.monotonic() - started < 60  # not the 120 s the connection would have waited
    finished = [e for e in read_entries(tmp_path / "case" / "journal.jsonl") if e["event"] == "target_finished"]
    assert len(finished) == 1 and "interrupted" in finished[0]["data"]["detail"]
