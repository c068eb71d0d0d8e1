"""Telnet targets (drivers/telnet.py) against a real telnetd with PAM logins (tests/servers/telnet.py):
the SSH profiles' conversation over telnet, and evidence that says the credential crossed in clear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.drivers.route_support import Secrets, events, outcomes, run_inventory
from tests.helpers import assert_no_secrets
from tests.servers.telnet import TelnetTargets


def telnet_target(name: str, telnet: TelnetTargets, s: Secrets, role: str, password: str | None = None,
                  **extra: Any) -> dict[str, Any]:
    account = telnet.account(role)
    entry = {"name": name, "profile": account.profile, "host": telnet.host, "port": telnet.port,
             "username": account.username, "password": s.ref(password or account.password),
             "transport": "telnet", "insecure_telnet": True}
    if account.enable_secret:
        entry["enable_secret"] = s.ref(account.enable_secret)
    return {**entry, **extra}


def test_telnet_linux_and_cisco_like_cli(telnet_targets: TelnetTargets, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    s = Secrets()
    linux, ios = telnet_targets.account("linux"), telnet_targets.account("cisco_ios")
    result = run_inventory(tmp_path, monkeypatch, s, targets=[
        telnet_target("linux", telnet_targets, s, "linux"),
        telnet_target("ios", telnet_targets, s, "cisco_ios"),
        telnet_target("wrong", telnet_targets, s, "linux", password=linux.password + "-wrong"),
    ])
    got = outcomes(result)
    assert got["linux"][0] == "login_ok", got["linux"]
    assert got["ios"] == ("login_ok", "reached mode 'privilege_exec' (expected 'privilege_exec'); the user name "
                          "and password crossed the network unencrypted (telnet)"), got["ios"]
    outcome, detail = got["wrong"]
    assert outcome == "auth_failed" and "Login incorrect" in detail and "unencrypted (telnet)" in detail, detail
    case = tmp_path / "case"
    for name in ("linux", "ios", "wrong"):
        [insecure] = events(case, name, "insecure_transport")
        assert insecure["data"]["transport"] == "telnet" and "in clear" in insecure["data"]["note"]
        steps = [e["data"]["step"] for e in events(case, name, "telnet_login")]
        assert steps[:2] == ["username sent", "password sent"], steps
    identity = {r.name: r.identity for r in result.results}
    assert identity["ios"]["transport"] == "telnet" and identity["ios"]["credential_in_clear"] is True
    assert identity["ios"]["mode"] == "privilege_exec"
    transcript = (case / "artifacts/ios/run001/session.txt").read_text()
    assert ios.identity in transcript and "R1-core#" in transcript and "[REDACTED]" in transcript
    assert linux.identity in (case / "artifacts/linux/run001/session.txt").read_text()
    assert (case / "artifacts/ios/run001/session.cast").read_text().startswith('{"version": 2')
    assert "accepting connection from" in telnet_targets.log.read_text()
    assert_no_secrets(case, [*s.values(), *telnet_targets.secrets()])


def test_telnet_through_a_socks_proxy(telnet_targets: TelnetTargets, socks_proxy: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    s = Secrets()
    proxy = {"url": f"socks5://{socks_proxy.host}:{socks_proxy.port}", "username": socks_proxy.username,
             "password": s.ref(socks_proxy.password)}
    result = run_inventory(tmp_path, monkeypatch, s, proxies={"sox": proxy},
                           targets=[telnet_target("ios", telnet_targets, s, "cisco_ios", proxy="sox")])
    [r] = result.results
    assert r.outcome.value == "login_ok", r.detail
    [routed] = events(tmp_path / "case", "ios", "route_connected")
    assert routed["data"]["destination"] == f"{telnet_targets.host}:{telnet_targets.port}"
    assert_no_secrets(tmp_path / "case", [*s.values(), *telnet_targets.secrets(), socks_proxy.password])
