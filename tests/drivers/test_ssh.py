"""SSH driver behaviour beyond the vendor CLIs: identity pinning, auth methods, hostile and huge
banners, legacy algorithms. Real OpenSSH sshd throughout (tests/servers/sshd.py)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.capture import CaptureResult, capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import SecretResolver
from tests.helpers import assert_no_secrets, free_port
from tests.servers.sshd import SSHD, InventoryTarget, SshdTargets, build_inventory

FAST = {"timeouts": {"connect": 5, "banner": 5, "auth": 20, "command": 10}}


def run(tmp_path: Path, targets: list[InventoryTarget], monkeypatch: pytest.MonkeyPatch) -> CaptureResult:
    inv = tmp_path / "inventory.yaml"
    for key, value in build_inventory(inv, targets).items():
        monkeypatch.setenv(key, value)
    return capture(load_inventory(inv, ProfileRegistry()), tmp_path / "case", SecretResolver(),
                   RunOptions(concurrency=4))


def events(case: Path, target: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (case / "journal.jsonl").read_text().splitlines()]
    return [e for e in rows if e["target"] == target]


def test_pinned_host_key_match_and_mismatch(sshd_targets: SshdTargets, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    account = sshd_targets.account("linux")
    real = sshd_targets.host_key_fingerprints["ssh-ed25519"]
    wrong = "SHA256:" + "A" * 43
    report = run(tmp_path, [
        InventoryTarget("pinned-ok", account, sshd_targets.port, extra={"host_key": real, **FAST}),
        InventoryTarget("pinned-wrong", account, sshd_targets.port, extra={"host_key": wrong, **FAST}),
    ], monkeypatch)
    outcomes = {r.name: r for r in report.results}
    assert outcomes["pinned-ok"].outcome.value == "login_ok", outcomes["pinned-ok"].detail
    bad = outcomes["pinned-wrong"]
    assert bad.outcome.value == "host_key_mismatch" and "no credential was sent" in bad.detail
    # The mismatch is decided before authentication: no auth attempt is in the evidence.
    kinds = [e["event"] for e in events(tmp_path / "case", "pinned-wrong")]
    assert "host_key_check" in kinds and "auth_attempt" not in kinds and "auth" not in kinds
    assert bad.identity["host_key"] == real  # what the server presented is recorded all the same
    assert_no_secrets(tmp_path / "case", [account.password])


def test_known_hosts_without_the_host_is_a_mismatch(sshd_targets: SshdTargets, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    account = sshd_targets.account("linux")
    other = tmp_path / "known_hosts"
    other.write_text("[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    report = run(tmp_path, [InventoryTarget("unknown-host", account, sshd_targets.port,
                                            extra={"known_hosts": str(other), **FAST})], monkeypatch)
    [result] = report.results
    assert result.outcome.value == "host_key_mismatch", result.detail
    assert "not in known_hosts" in result.detail


def test_keyboard_interactive_only_server(sshd_targets: SshdTargets, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    account = sshd_targets.account("kbd")
    report = run(tmp_path, [InventoryTarget("kbd", account, sshd_targets.port, extra=FAST)], monkeypatch)
    [result] = report.results
    assert result.outcome.value == "login_ok", result.detail
    auth = [e for e in events(tmp_path / "case", "kbd") if e["event"] == "auth"]
    assert auth and auth[0]["data"]["methods"] == ["password", "keyboard-interactive"]
    prompts = [e for e in events(tmp_path / "case", "kbd") if e["event"] == "auth_prompts"]
    assert prompts and "assword" in prompts[0]["data"]["prompts"][0]
    assert_no_secrets(tmp_path / "case", [account.password])


def test_hostile_and_huge_banners_are_kept_raw_and_never_replayed(
    sshd_targets: SshdTargets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html, huge = sshd_targets.account("banner_html"), sshd_targets.account("banner_huge")
    report = run(tmp_path, [
        InventoryTarget("hostile", html, sshd_targets.port, extra=FAST),
        InventoryTarget("huge", huge, sshd_targets.port, extra={"timeouts": {"command": 60, "auth": 60}}),
    ], monkeypatch)
    results = {r.name: r for r in report.results}
    assert results["hostile"].outcome.value == "login_ok", results["hostile"].detail
    assert results["huge"].outcome.value == "login_ok", results["huge"].detail
    case = tmp_path / "case"
    # The banner artifact holds exactly what the server sent (it is evidence)...
    banner = (case / "artifacts/hostile/run001/banner.txt").read_bytes()
    assert banner == sshd_targets.hostile_banner.encode()
    # ...while the journal's preview shows escapes as text, and the text transcript carries none.
    [event] = [e for e in events(case, "hostile") if e["event"] == "banner"]
    assert "\x1b" not in event["data"]["preview"] and "\\x1b" in event["data"]["preview"]
    assert "\x1b" not in (case / "artifacts/hostile/run001/session.txt").read_text()
    # The huge one: a 250 KB banner and 1 MB of hostile text before the prompt, all recorded.
    assert (case / "artifacts/huge/run001/banner.txt").stat().st_size >= sshd_targets.huge_banner_bytes - 64
    cast = case / "artifacts/huge/run001/session.cast"
    assert cast.stat().st_size > sshd_targets.huge_motd_bytes
    lines = cast.read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    assert all(json.loads(line)[1] in ("o", "i", "m") for line in lines[1:])
    assert_no_secrets(case, [html.password, huge.password])


@pytest.fixture
def cbc_only_sshd(sshd_targets: SshdTargets) -> Any:
    """A second sshd from the same config that only speaks CBC ciphers: an old device."""
    config = (sshd_targets.workdir / "sshd_config").read_text()
    port = free_port()
    config = config.replace(f"Port {sshd_targets.port}\n", f"Port {port}\nCiphers aes128-cbc,aes256-cbc\n")
    config = config.replace("sshd.pid", "sshd-cbc.pid")
    path = sshd_targets.workdir / "sshd_config_cbc"
    path.write_text(config)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(5)


def test_legacy_ciphers_only_with_the_targets_allowance(
    sshd_targets: SshdTargets, cbc_only_sshd: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = sshd_targets.account("cisco_ios")  # cisco_ios lists CBC ciphers as its legacy allowance
    report = run(tmp_path, [
        InventoryTarget("modern-only", account, cbc_only_sshd, extra=FAST),
        InventoryTarget("legacy-allowed", account, cbc_only_sshd, extra={"legacy": True, **FAST}),
    ], monkeypatch)
    results = {r.name: r for r in report.results}
    refused = results["modern-only"]
    assert refused.outcome.value == "error" and "legacy: true" in refused.detail, refused.detail
    allowed = results["legacy-allowed"]
    assert allowed.outcome.value == "login_ok", allowed.detail
    case = tmp_path / "case"
    [handshake] = [e for e in events(case, "legacy-allowed") if e["event"] == "ssh_handshake"]
    assert handshake["data"]["cipher"] in ("aes128-cbc", "aes256-cbc")
    assert "aes128-cbc" in handshake["data"]["legacy_allowed"]["ciphers"]
    # What the profile asks for but this SSH library no longer has is said, not hidden.
    [missing] = [e for e in events(case, "legacy-allowed") if e["event"] == "legacy_unsupported"]
    assert "diffie-hellman-group1-sha1" in missing["data"]["algorithms"]
    assert_no_secrets(case, [account.password, account.enable_secret or ""])
