"""Capture end to end through the CLI, against the in-process demo SSH device.

These cover the run itself (parallel targets, JSON output, appending runs, 'changed since
last run', kill -9 mid-capture) rather than a vendor's CLI: tests/drivers covers those against
a real sshd.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.demo.ssh_device import DemoDevice
from tests.helpers import assert_no_secrets


@pytest.fixture(scope="module")
def device() -> Iterator[DemoDevice]:
    with DemoDevice() as d:
        yield d


def inventory(tmp_path: Path, device: DemoDevice, good: int, bad: int = 0, closed_port: int | None = None) -> Path:
    rows = []
    for i in range(good):
        rows.append(f"  - {{name: rtr-{i:03d}, profile: cisco_ios, host: 127.0.0.1, port: {device.port},"
                    f" username: {device.username}, password: env:EKT_GOOD, enable_secret: env:EKT_ENABLE}}\n")
    for i in range(bad):
        rows.append(f"  - {{name: bad-{i:03d}, profile: cisco_ios, host: 127.0.0.1, port: {device.port},"
                    f" username: {device.username}, password: env:EKT_BAD}}\n")
    if closed_port:
        rows.append(f"  - {{name: closed, profile: cisco_ios, host: 127.0.0.1, port: {closed_port},"
                    f" username: x, password: env:EKT_BAD, timeouts: {{connect: 2}}}}\n")
    path = tmp_path / "inventory.yaml"
    path.write_text("case: {client: Contoso, provider: MSP, technician: Tester}\ntargets:\n" + "".join(rows))
    return path


def env_for(device: DemoDevice) -> dict[str, str]:
    return {**os.environ, "EKT_GOOD": device.password, "EKT_ENABLE": device.enable_secret,
            "EKT_BAD": device.password + "-nope"}


def secrets_of(device: DemoDevice) -> list[str]:
    return [device.password, device.enable_secret, device.password + "-nope"]


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidence_kit", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_parallel_capture_json_and_failures_do_not_stop_others(tmp_path: Path, device: DemoDevice) -> None:
    from tests.helpers import free_port

    inv = inventory(tmp_path, device, good=6, bad=2, closed_port=free_port())
    case = tmp_path / "case"
    proc = run_cli(["capture", str(inv), "--case", str(case), "--concurrency", "4", "--json"], env_for(device))
    assert proc.returncode == 1, proc.stderr  # some targets failed: exit 1, the run itself worked
    data = json.loads(proc.stdout)
    outcomes = {t["name"]: t["outcome"] for t in data["targets"]}
    assert [outcomes[f"rtr-{i:03d}"] for i in range(6)] == ["login_ok"] * 6
    assert outcomes["bad-000"] == outcomes["bad-001"] == "auth_failed"
    assert outcomes["closed"] == "unreachable"
    assert data["counts"] == {"login_ok": 6, "auth_failed": 2, "unreachable": 1}
    check = check_journal(case / "journal.jsonl")
    assert check.ok
    finished = [e for e in read_entries(case / "journal.jsonl") if e["event"] == "target_finished"]
    assert len(finished) == 9  # exactly one outcome per target
    commitments = [e for e in read_entries(case / "journal.jsonl") if e["event"] == "credential_commitment"]
    assert {(e["target"], e["data"]["field"]) for e in commitments} >= {("rtr-000", "password"),
                                                                      ("rtr-000", "enable_secret")}
    transcript = (case / "artifacts/rtr-000/run001/session.txt").read_text()
    assert "Cisco IOS XE Software" in transcript and "[REDACTED]" in transcript
    assert_no_secrets(case, secrets_of(device))


def test_second_run_appends_and_reports_changes(tmp_path: Path, device: DemoDevice) -> None:
    inv = inventory(tmp_path, device, good=1)
    case = tmp_path / "case"
    env = env_for(device)
    first = run_cli(["capture", str(inv), "--case", str(case)], env)
    assert first.returncode == 0, first.stderr
    assert "rtr-000" in first.stdout and "login_ok" in first.stdout
    env["EKT_GOOD"] = "rotated-" + device.password  # the credential stopped working
    second = run_cli(["capture", str(inv), "--case", str(case), "--json"], env)
    assert second.returncode == 1
    data = json.loads(second.stdout)
    assert data["changed_since_last_run"] == {"rtr-000": {"before": "login_ok", "now": "auth_failed"}}
    runs = {e["run"] for e in read_entries(case / "journal.jsonl")}
    assert runs == {1, 2}
    assert check_journal(case / "journal.jsonl").ok
    assert_no_secrets(case, [*secrets_of(device), env["EKT_GOOD"]])


def test_sigkill_mid_capture_leaves_a_valid_prefix_and_case_reopens(tmp_path: Path, device: DemoDevice) -> None:
    inv = inventory(tmp_path, device, good=30)
    case = tmp_path / "case"
    env = env_for(device)
    proc = subprocess.Popen([sys.executable, "-m", "evidence_kit", "capture", str(inv), "--case", str(case),
                             "--concurrency", "3"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = case / "journal.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"target_finished") >= 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    check = check_journal(journal)
    assert check.ok, check.describe()
    assert 3 <= sum(1 for e in read_entries(journal) if e["event"] == "target_finished") < 30
    again = run_cli(["capture", str(inv), "--case", str(case), "--only", "rtr-029", "--json"], env)
    assert again.returncode == 0, again.stderr
    after = check_journal(journal)
    assert after.ok and after.torn_tail_bytes == 0 and after.entries > check.entries
    assert_no_secrets(case, secrets_of(device))


def test_missing_secret_stops_before_anything_is_captured(tmp_path: Path, device: DemoDevice) -> None:
    inv = inventory(tmp_path, device, good=1)
    env = {k: v for k, v in env_for(device).items() if k != "EKT_ENABLE"}
    proc = run_cli(["capture", str(inv), "--case", str(tmp_path / "case")], env)
    assert proc.returncode == 2
    expected = "error: target 'rtr-000' field 'enable_secret': environment variable EKT_ENABLE is not set"
    assert proc.stderr.strip() == expected
    assert not (tmp_path / "case").exists()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "evidence_kit", "demo", "--dir", str(tmp_path / "demo"), "--no-web"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "demo-router: login_ok" in proc.stdout
    assert "demo-router-wrong-password: auth_failed" in proc.stdout
    cases = list((tmp_path / "demo").glob("*/case"))
    assert len(cases) == 1 and check_journal(cases[0] / "journal.jsonl").ok
    folder = cases[0].parent
    assert "verification: ALL CHECKS PASSED" in proc.stdout
    assert "trusted time" in proc.stdout  # sealed with the local openssl ts authority
    archives = list(folder.glob("*.age"))
    assert len(archives) == 1 and (folder / (archives[0].name + ".receipt.json")).exists()
    report = folder / "report.html"
    assert report.exists() and "demo-router" in report.read_text()
    assert "password: bitwarden:" in (folder / "inventory.yaml").read_text()  # imported: references, not values


def test_demo_in_process_with_web_leaks_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_kit.demo import run_demo

    lines: list[str] = []
    monkeypatch.chdir(tmp_path)  # the demo's default folder is relative to where it runs
    result = run_demo(Path("demo"), echo=lines.append, web=True)
    assert result.ok, "\n".join(lines)
    outcomes = {r.name: r.outcome.value for r in result.capture.results}  # type: ignore[union-attr]
    assert outcomes["demo-router"] == "login_ok"
    assert outcomes["demo-router-wrong-password"] == "auth_failed"
    assert outcomes.get("demo-portal") == "login_ok", lines  # CI has Chromium: the web part must run
    assert outcomes["demo-portal-wrong-password"] == "auth_failed"
    assert result.report is not None and result.report.with_suffix(".pdf").exists()
    secrets = [s.reveal() for s in result.used_secrets]
    assert len(secrets) >= 6
    assert_no_secrets(result.folder, secrets)
    printed = "\n".join(lines)
    assert not any(s in printed for s in secrets)


def test_run_captures_seals_and_the_archive_verifies(tmp_path: Path, device: DemoDevice) -> None:
    keys = tmp_path / "keys"
    made = run_cli(["keys", "generate", "--out", str(keys), "--json"], dict(os.environ))
    assert made.returncode == 0, made.stderr
    recipient = json.loads(made.stdout)["recipient"]
    inv = inventory(tmp_path, device, good=2, bad=1)
    text = inv.read_text().replace("technician: Tester}", f"technician: Tester, recipients: [{recipient}]}}")
    inv.write_text(text)
    case, archives = tmp_path / "case", tmp_path / "archives"
    proc = run_cli(["run", str(inv), "--case", str(case), "--sign-key", str(keys / "signing-key.pem"),
                    "--archive-dir", str(archives), "--json"], env_for(device))
    assert proc.returncode == 1, proc.stderr  # one wrong credential: exit 1, still sealed
    data = json.loads(proc.stdout)
    assert data["counts"] == {"login_ok": 2, "auth_failed": 1}
    archive = Path(data["seal"]["archive"])
    assert archive.parent == archives and archive.name.endswith(".age") and "-run001-" in archive.name
    assert recipient in data["seal"]["recipients"]
    verified = run_cli(["verify", str(archive), "--identity", str(keys / "age-identity.txt"),
                        "--trust-key", str(keys / "signing-public.pem"), "--json"], dict(os.environ))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
    # A second scheduled run appends to the case and seals a new archive beside the first.
    again = run_cli(["run", str(inv), "--case", str(case), "--sign-key", str(keys / "signing-key.pem"),
                     "--archive-dir", str(archives), "--json"], env_for(device))
    assert again.returncode == 1
    assert len(list(archives.glob("*.age"))) == 2
    assert_no_secrets(tmp_path, secrets_of(device))


def test_run_refuses_bad_signing_key_before_capturing(tmp_path: Path, device: DemoDevice) -> None:
    inv = inventory(tmp_path, device, good=1)
    bad_key = tmp_path / "key.pem"
    bad_key.write_text("not a key")
    proc = run_cli(["run", str(inv), "--case", str(tmp_path / "case"), "--sign-key", str(bad_key),
                    "-r", "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"], env_for(device))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "case").exists()


def test_demo_without_a_browser_says_so_and_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evidence_kit.browser as browser
    from evidence_kit.demo import run_demo

    monkeypatch.setattr(browser, "managed_chromium", lambda environ=None: None)
    monkeypatch.setattr(browser, "system_chromium", lambda: None)
    monkeypatch.delenv("EVIDENCE_KIT_BROWSER", raising=False)
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", echo=lines.append, web=True)
    assert result.ok, "\n".join(lines)
    assert any(line.startswith("no browser, so the web part is skipped") for line in lines)
    assert {r.name for r in result.capture.results} == {"demo-router", "demo-router-wrong-password"}  # type: ignore[union-attr]
    assert result.report is not None and result.report.exists()
    assert not result.report.with_suffix(".pdf").exists()
