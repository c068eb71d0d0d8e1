"""Web targets through the route: a portal that listens only behind the jump host, and portals behind
authenticating SOCKS5 / HTTP proxies (Playwright refuses SOCKS5 with a password itself). The browser
gets a local CONNECT bridge (route/bridge.py) and still asks for the real URL."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.route.bridge import ConnectBridge
from tests.drivers.route_support import Secrets, events, outcomes, run_inventory
from tests.helpers import assert_no_secrets
from tests.servers.jump import JumpLab
from tests.servers.portals import ADMIN, PortalServer

pytestmark = pytest.mark.slow


def portal_target(name: str, url: str, s: Secrets, password: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "profile": "pfsense_web", "url": url, "username": ADMIN, "password": s.ref(password),
            "timeouts": {"connect": 8, "step": 20, "login": 60}, **extra}


def test_portal_behind_the_jump_host(jump_lab: JumpLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab, s = jump_lab, Secrets()
    jump = lab.jump1.account("linux")
    hops = {"jump1": {"host": lab.jump1.host, "username": jump.username, "password": s.ref(jump.password),
                      "known_hosts": str(lab.known_hosts)}}
    url = lab.portal.url("pfsense")
    result = run_inventory(tmp_path, monkeypatch, s, hops=hops, targets=[
        portal_target("portal", url, s, lab.portal.password, via="jump1"),
        portal_target("portal-direct", url, s, lab.portal.password, timeouts={"connect": 3, "step": 5, "login": 10}),
    ], concurrency=2)
    got = outcomes(result)
    assert got["portal"][0] == "login_ok", got["portal"]
    assert got["portal-direct"][0] in ("unreachable", "timeout"), got["portal-direct"]  # no route from here
    case = tmp_path / "case"
    [routed] = events(case, "portal", "route_connected")
    assert routed["data"]["destination"] == f"{lab.target.host}:80" and routed["data"]["connected_by"] == "hop 'jump1'"
    [closed] = events(case, "portal", "bridge_closed")
    assert closed["data"]["destinations"].get(f"{lab.target.host}:80", 0) >= 1 and not closed["data"]["failures"]
    [nav] = events(case, "portal", "navigation")
    assert nav["data"]["final_url"].startswith(lab.portal.base)  # the real URL, not the bridge's
    assert_no_secrets(case, [*s.values(), *lab.secrets()])


@pytest.fixture(params=["socks5", "http"])
def proxy(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("socks_proxy" if request.param == "socks5" else "http_proxy")


def test_portal_through_an_authenticating_proxy(proxy: Any, portals: PortalServer, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    s = Secrets()
    proxies = {"office": {"url": f"{proxy.kind}://{proxy.host}:{proxy.port}", "username": proxy.username,
                          "password": s.ref(proxy.password)}}
    result = run_inventory(tmp_path, monkeypatch, s, proxies=proxies, targets=[
        portal_target("portal", portals.url("pfsense"), s, portals.password, proxy="office")])
    [r] = result.results
    assert r.outcome.value == "login_ok", r.detail
    case = tmp_path / "case"
    [routed] = events(case, "portal", "route_connected")
    assert routed["data"]["proxy"]["url"] == f"{proxy.kind}://{proxy.host}:{proxy.port}"
    port = portals.base.rsplit(":", 1)[1]
    assert f":{port}" in proxy.log.read_text() or port in proxy.log.read_text()
    assert_no_secrets(case, [*s.values(), *portals.secrets()])


def test_connect_bridge_tunnels_tls_and_wants_its_token(socks_proxy: Any, webhooks_receiver: Any) -> None:
    """The CONNECT path a browser takes for https, through a real SOCKS5 proxy to a real HTTPS server."""
    from python_socks import ProxyType
    from python_socks.sync import Proxy

    def dial(host: str, port: int) -> Any:
        return Proxy(ProxyType.SOCKS5, socks_proxy.host, socks_proxy.port, socks_proxy.username,
                     socks_proxy.password, rdns=True).connect(host, port, timeout=10)

    bridge = ConnectBridge(dial)
    try:
        host, port = webhooks_receiver.url().removeprefix("https://").split("/")[0].split(":")
        token = base64.b64encode(f"{bridge.USER}:{bridge.token}".encode()).decode()
        conn = http.client.HTTPSConnection("127.0.0.1", bridge.port, timeout=10,
                                           context=ssl._create_unverified_context())  # noqa: S323 - test cert
        conn.set_tunnel(host, int(port), headers={"Proxy-Authorization": f"Basic {token}"})
        conn.request("POST", "/hooks/evidence-kit", body=json.dumps({"hello": "route"}),
                     headers={"Content-Type": "application/json"})
        assert conn.getresponse().status in (200, 204)
        conn.close()
        assert webhooks_receiver.tls_failures == 0
        # Without the token: 407, and nothing is dialled.
        plain = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=10)
        plain.request("CONNECT", f"{host}:{port}")
        assert plain.getresponse().status == 407
        plain.close()
        assert bridge.tally.destinations == {f"{host}:{port}": 1}
    finally:
        bridge.close()
