"""Directory (LDAP) targets through authenticating proxies (Dante SOCKS5, tinyproxy CONNECT) to the
real Samba AD DC (tests/servers/samba_ad.py): ldap3 gets the routed connection on a local port,
and the TLS session is still end to end with the DC (its own certificate is recorded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.drivers.route_support import Secrets, events, outcomes, run_inventory
from tests.helpers import assert_no_secrets
from tests.servers.samba_ad import SambaAD


@pytest.fixture(params=["socks5", "http"])
def proxy(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("socks_proxy" if request.param == "socks5" else "http_proxy")


@pytest.mark.slow
def test_ldap_through_an_authenticating_proxy(proxy: Any, samba_ad: SambaAD, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    s = Secrets()
    ad = samba_ad
    proxies = {"office": {"url": f"{proxy.kind}://{proxy.host}:{proxy.port}", "username": proxy.username,
                          "password": s.ref(proxy.password)}}
    base = {"profile": "active_directory", "host": ad.host, "allow_self_signed": True, "proxy": "office"}
    result = run_inventory(tmp_path, monkeypatch, s, proxies=proxies, targets=[
        {"name": "ldaps", **base, "username": ad.upn("Administrator"),
         "password": s.ref(ad.passwords["Administrator"])},
        {"name": "starttls", **base, "username": ad.upn("admin2"), "password": s.ref(ad.passwords["admin2"]),
         "transport": "starttls"},
    ])
    got = outcomes(result)
    assert got["ldaps"][0] == "login_ok" and got["starttls"][0] == "login_ok", got
    case = tmp_path / "case"
    for name, port in (("ldaps", ad.ldaps_port), ("starttls", ad.ldap_port)):
        [routed] = events(case, name, "route_connected")
        assert routed["data"]["destination"] == f"{ad.host}:{port}"
        assert routed["data"]["proxy"]["url"] == f"{proxy.kind}://{proxy.host}:{proxy.port}"
        [tls] = events(case, name, "tls")
        assert tls["data"]["chain"][0]["sha256"] == ad.leaf_sha256()  # the DC's own certificate, through the proxy
        [connected] = events(case, name, "connected")
        assert connected["data"]["via"].startswith("local forward 127.0.0.1:")
    assert str(ad.ldaps_port) in proxy.log.read_text()
    assert_no_secrets(case, [*s.values(), *ad.passwords.values()])
