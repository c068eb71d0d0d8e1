"""Shared fixtures. Fixtures that start real servers live in tests/servers/ and are registered
here as plugins, so every test folder can use them."""

from __future__ import annotations

import pytest

pytest_plugins = [
    # one line per server fixture module (tests/servers/*.py)
    "tests.servers.sshd",
    "tests.servers.fake_switches",
    "tests.servers.samba_ad",
    "tests.servers.cockpit",
    "tests.servers.portals",
    "tests.servers.xrdp",
    "tests.servers.rdp_shadow",
    "tests.servers.smbd",
    "tests.servers.jump",  # network namespaces: jump hosts, Dropbear, a portal behind them
    "tests.servers.proxies",  # SOCKS5 (Dante) and HTTP CONNECT (tinyproxy) with proxy auth
    "tests.servers.telnet",  # socat + inetutils telnetd, PAM login; a Cisco-like CLI user
    "tests.servers.agent",  # a real ssh-agent holding two keys (one authorized)
    "tests.servers.smtp",  # aiosmtpd: STARTTLS, implicit TLS and plain relays that keep what they get
    "tests.servers.webhook",  # HTTP(S) receiver that records requests, fails or hangs on cue
]


@pytest.fixture
def no_secrets():
    """Call with (path, secrets): fails if any secret appears in any file, raw or encoded."""
    from tests.helpers import assert_no_secrets

    return assert_no_secrets
