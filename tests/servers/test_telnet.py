"""Smoke tests of the telnet fixture (tests/servers/telnet.py): real telnetd + PAM login."""

from __future__ import annotations

from tests.servers.telnet import ECHO, WILL, TelnetClient, TelnetTargets


def login(t: TelnetTargets, role: str, password: str | None = None) -> tuple[TelnetClient, str]:
    account = t.account(role)
    client = TelnetClient(t.host, t.port)
    client.read_until(r"login: $")
    client.write(account.username)
    client.read_until(r"Password: $")
    client.write(account.password if password is None else password)
    return client, account.password


def test_linux_login_over_telnet(telnet_targets: TelnetTargets) -> None:
    client, password = login(telnet_targets, "linux")
    with client:
        client.read_until(r"\$ $")
        client.write("id -un; exit")
        out = client.read_until(r"logout")
    assert telnet_targets.account("linux").username in out
    assert (WILL, ECHO) in client.negotiated  # the server echoes; the password was not echoed
    assert password.encode() not in client.text


def test_cisco_cli_over_telnet(telnet_targets: TelnetTargets) -> None:
    account = telnet_targets.account("cisco_ios")
    client, _ = login(telnet_targets, "cisco_ios")
    with client:
        banner = client.read_until(r"[\w.-]+>$")
        assert "Debian" not in banner  # ~/.hushlogin: no MOTD before the device's own text
        client.write("enable")
        client.read_until(r"Password: ?$")
        client.write(account.enable_secret or "")
        client.read_until(r"[\w.-]+#$")
        client.write("terminal length 0")
        client.read_until(r"[\w.-]+#$")
        client.write("show version")
        out = client.read_until(r"[\w.-]+#$")
    assert account.identity in out


def test_wrong_password_says_login_incorrect(telnet_targets: TelnetTargets) -> None:
    client, password = login(telnet_targets, "linux", password="not-the-password")
    with client:
        client.read_until(r"Login incorrect")
        client.read_until(r"login: $")  # and asks again
    assert password.encode() not in client.text
