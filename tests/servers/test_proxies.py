"""Smoke tests of the proxy fixtures (tests/servers/proxies.py): SSH and HTTP through a real SOCKS5
server (Dante) and a real HTTP proxy (tinyproxy), both with proxy authentication."""

from __future__ import annotations

import base64
import http.client
import socket

import paramiko
import pytest

from tests.servers.portals import PortalServer
from tests.servers.proxies import ProxyEndpoint
from tests.servers.sshd import SshdTargets

python_socks = pytest.importorskip("python_socks")  # the driver work adds it to the dependencies
from python_socks.sync import Proxy  # noqa: E402


def through(proxy: ProxyEndpoint, host: str, port: int, password: str | None = None) -> socket.socket:
    if password is None:
        return Proxy.from_url(proxy.url).connect(host, port, timeout=10)
    kind = python_socks.ProxyType.SOCKS5 if proxy.kind == "socks5" else python_socks.ProxyType.HTTP
    return Proxy.create(kind, proxy.host, proxy.port, username=proxy.username,
                        password=password).connect(host, port, timeout=10)


@pytest.fixture(params=["socks5", "http"])
def proxy(request: pytest.FixtureRequest) -> ProxyEndpoint:
    name = "socks_proxy" if request.param == "socks5" else "http_proxy"
    endpoint: ProxyEndpoint = request.getfixturevalue(name)
    return endpoint


def test_ssh_through_proxy(proxy: ProxyEndpoint, sshd_targets: SshdTargets) -> None:
    account = sshd_targets.account("linux")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    c.load_host_keys(str(sshd_targets.known_hosts))
    with c:
        c.connect(sshd_targets.host, sshd_targets.port, account.system_user, account.password,
                  sock=through(proxy, sshd_targets.host, sshd_targets.port),
                  allow_agent=False, look_for_keys=False, timeout=10)
        _, out, _ = c.exec_command("id -un")
        assert out.read().decode().strip() == account.system_user
    log = proxy.log.read_text()
    assert str(sshd_targets.port) in log
    assert proxy.password not in log


def test_http_get_through_socks(socks_proxy: ProxyEndpoint, portals: PortalServer) -> None:
    host, port = portals.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.sock = through(socks_proxy, host, int(port))
    conn.request("GET", "/pfsense/")
    resp = conn.getresponse()
    assert resp.status == 200 and 'name="usernamefld"' in resp.read().decode()
    conn.close()


def test_http_get_through_http_proxy(http_proxy: ProxyEndpoint, portals: PortalServer) -> None:
    token = base64.b64encode(f"{http_proxy.username}:{http_proxy.password}".encode()).decode()
    conn = http.client.HTTPConnection(http_proxy.host, http_proxy.port, timeout=10)
    conn.request("GET", portals.url("pfsense"), headers={"Proxy-Authorization": f"Basic {token}"})
    resp = conn.getresponse()
    assert resp.status == 200 and 'name="usernamefld"' in resp.read().decode()
    conn.close()


def test_wrong_proxy_password_is_refused(proxy: ProxyEndpoint, sshd_targets: SshdTargets) -> None:
    answer = {"socks5": "Username and password authentication failure", "http": "401 Unauthorized"}
    with pytest.raises(python_socks.ProxyError, match=answer[proxy.kind]):
        through(proxy, sshd_targets.host, sshd_targets.port, password=proxy.password + "x")


def test_http_proxy_without_credentials_asks_for_them(http_proxy: ProxyEndpoint) -> None:
    with socket.create_connection((http_proxy.host, http_proxy.port), timeout=10) as s:
        s.sendall(b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n")
        assert s.recv(200).startswith(b"HTTP/1.0 407 Proxy Authentication Required")


def test_proxies_let_only_this_machine_through(proxy: ProxyEndpoint, sshd_targets: SshdTargets) -> None:
    # Both let only 127.0.0.1 through; 127.0.0.2 shows the refusal without leaving the machine.
    dest = "127.0.0.2"
    answer = {"socks5": "not allowed by ruleset", "http": "403 Filtered"}
    with pytest.raises(python_socks.ProxyError, match=answer[proxy.kind]):
        through(proxy, dest, sshd_targets.port)
