"""Every shipped SSH profile, end to end: inventory -> capture -> case, through a real sshd.

The logins are real OpenSSH logins (PAM, pty); each vendor account's login runs the scripted
device CLI (tests/servers/vendor_cli.py). One capture runs all of them in parallel (module
fixture); the tests then check each target's outcome, transcript and the secret scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.capture import CaptureResult, capture
from evidence_kit.case.journal import check_journal
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.profiles.ssh import SshProfile
from evidence_kit.secrets import SecretResolver
from tests.helpers import assert_no_secrets, random_password
from tests.servers.sshd import ROLES, InventoryTarget, SshdTargets, build_inventory

SHORT = {"timeouts": {"connect": 5, "banner": 5, "auth": 20, "command": 10}}
# Roles whose profile the simulator (or bash) stands in for; each gets one good login.
GOOD_ROLES = [r.name for r in ROLES]
WRONG_PASSWORD = ["linux", "cisco_ios", "mikrotik_routeros", "pfsense"]


@dataclass
class Captured:
    report: CaptureResult
    case_root: Path
    targets: SshdTargets
    secrets: list[str]

    def result(self, name: str) -> Any:
        return next(r for r in self.report.results if r.name == name)

    def transcript(self, name: str) -> str:
        result = self.result(name)
        [txt] = [a for a in result.artifacts if a.endswith("session.txt")]
        return (self.case_root / txt).read_text(encoding="utf-8")

    def events(self, name: str) -> list[dict[str, Any]]:
        lines = (self.case_root / "journal.jsonl").read_text().splitlines()
        return [e for e in map(json.loads, lines) if e.get("target") == name]


def _run(inv_path: Path, case_root: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
         concurrency: int = 8) -> CaptureResult:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    inventory = load_inventory(inv_path, ProfileRegistry())
    return capture(inventory, case_root, SecretResolver(), RunOptions(concurrency=concurrency))


@pytest.fixture(scope="module")
def vendors_case(sshd_targets: SshdTargets, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """One capture of every account (good credentials) plus a few wrong passwords."""
    work = tmp_path_factory.mktemp("vendors")
    targets = [
        InventoryTarget(f"good-{role}", sshd_targets.account(role), sshd_targets.port,
                        use_key=(role == "key"),
                        extra={"known_hosts": str(sshd_targets.known_hosts), **SHORT})
        for role in GOOD_ROLES
    ]
    wrong = {role: random_password("Wrong") for role in WRONG_PASSWORD}
    targets += [
        InventoryTarget(f"wrong-{role}", sshd_targets.account(role), sshd_targets.port, password=wrong[role],
                        extra={"known_hosts": str(sshd_targets.known_hosts), **SHORT})
        for role in WRONG_PASSWORD
    ]
    inv = work / "inventory.yaml"
    env = build_inventory(inv, targets)
    with pytest.MonkeyPatch.context() as mp:
        report = _run(inv, work / "case", env, mp)
    secrets = sshd_targets.secrets() + list(wrong.values())
    return Captured(report, work / "case", sshd_targets, secrets)


def shipped_ssh_profiles() -> list[str]:
    return [p.profile.name for p in ProfileRegistry(use_env=False).all() if isinstance(p.profile, SshProfile)]


def test_every_shipped_ssh_profile_has_a_simulated_device() -> None:
    covered = {r.profile for r in ROLES}
    assert set(shipped_ssh_profiles()) <= covered, sorted(set(shipped_ssh_profiles()) - covered)


@pytest.mark.slow
@pytest.mark.parametrize("role", GOOD_ROLES)
def test_good_login(vendors_case: Captured, role: str) -> None:
    account = vendors_case.targets.account(role)
    result = vendors_case.result(f"good-{role}")
    assert result.outcome.value == account.expect, f"{role}: {result.outcome.value}: {result.detail}"
    text = vendors_case.transcript(f"good-{role}")
    # The identity command ran and its output is in the evidence.
    assert account.identity in text, f"{role}: identity output missing from the transcript"
    events = vendors_case.events(f"good-{role}")
    identity = [e for e in events if e["event"] == "command" and e["data"].get("purpose") == "identity"]
    if account.expect == "login_ok":
        assert identity and all(e["data"]["result"] == "ok" for e in identity), identity
    else:
        # A limited account may be refused the privileged ones ('% Invalid input' is recorded).
        assert identity and identity[0]["data"]["result"] == "ok", identity
    # The host key was checked against the known_hosts file, and matched.
    [check] = [e for e in events if e["event"] == "host_key_check"]
    assert check["data"]["result"] == "match"


@pytest.mark.slow
def test_privilege_and_pager_specifics(vendors_case: Captured) -> None:
    # Cisco: entered enable with the enable secret (password sent, never recorded).
    ev = [e for e in vendors_case.events("good-cisco_ios") if e["event"] == "elevation"]
    assert ev and ev[0]["data"]["result"] == "ok", ev
    assert "R1-core#" in vendors_case.transcript("good-cisco_ios")
    # The >-only account: no enable secret in the inventory, stays at '>', login_limited.
    limited = vendors_case.result("good-cisco_limited")
    assert limited.outcome.value == "login_limited" and "exec" in limited.detail
    # The account that may not turn the pager off: output paged, all of it still captured.
    paged = vendors_case.transcript("good-cisco_pager")
    assert "--More--" in paged, "the pager never showed: the account was meant to page"
    assert "Configuration register is 0x102" in paged and "PWR-C1-715WAC" in paged
    # MikroTik: logged in as user+cte, the licence question was answered.
    assert any(e["event"] == "interaction" for e in vendors_case.events("good-mikrotik_routeros"))
    # pfSense: chose 8) Shell from the console menu; HP: pressed a key at the splash.
    assert "8) Shell" in vendors_case.transcript("good-pfsense")
    assert any(e["event"] == "interaction" for e in vendors_case.events("good-pfsense"))
    assert any(e["event"] == "interaction" for e in vendors_case.events("good-hp_procurve"))


@pytest.mark.slow
@pytest.mark.parametrize("role", WRONG_PASSWORD)
def test_wrong_password_is_auth_failed(vendors_case: Captured, role: str) -> None:
    result = vendors_case.result(f"wrong-{role}")
    assert result.outcome.value == "auth_failed", f"{role}: {result.outcome.value}: {result.detail}"


@pytest.mark.slow
def test_no_secret_anywhere_in_the_case(vendors_case: Captured) -> None:
    assert_no_secrets(vendors_case.case_root, vendors_case.secrets)
    assert check_journal(vendors_case.case_root / "journal.jsonl").ok


@pytest.mark.slow
def test_wrong_enable_secret_is_login_limited(
    sshd_targets: SshdTargets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The device asks again after a wrong enable secret; the run must not hang on it."""
    account = sshd_targets.account("cisco_ios")
    inv = tmp_path / "inventory.yaml"
    env = build_inventory(inv, [InventoryTarget("ios-bad-enable", account, sshd_targets.port, extra=SHORT)])
    bad = random_password("BadEn")
    env["EKT_EN_IOS_BAD_ENABLE"] = bad
    report = _run(inv, tmp_path / "case", env, monkeypatch)
    [result] = report.results
    assert result.outcome.value == "login_limited", f"{result.outcome.value}: {result.detail}"
    assert_no_secrets(tmp_path / "case", [account.password, account.enable_secret or "", bad])


@pytest.mark.slow
def test_unreachable_and_silent(sshd_targets: SshdTargets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = sshd_targets.account("linux")
    fast = {"timeouts": {"connect": 2, "banner": 2, "auth": 5, "command": 5}}
    inv = tmp_path / "inventory.yaml"
    env = build_inventory(inv, [
        InventoryTarget("nobody-home", account, sshd_targets.unreachable_port, extra=fast),
        InventoryTarget("silent", account, sshd_targets.silent_port, extra=fast),
    ])
    report = _run(inv, tmp_path / "case", env, monkeypatch)
    outcomes = {r.name: r.outcome.value for r in report.results}
    assert outcomes == {"nobody-home": "unreachable", "silent": "timeout"}, report.as_dict()
    assert_no_secrets(tmp_path / "case", [account.password])
