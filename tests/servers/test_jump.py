"""Smoke tests of the jump-host lab (tests/servers/jump.py) with raw paramiko: the targets are
reachable solely through the jump hosts, and the logs show what reached each server."""

from __future__ import annotations

import errno
import http.client
import socket
from collections.abc import Iterator

import paramiko
import pytest

from tests.servers.jump import JumpLab, LocalForward
from tests.servers.netns import Link, TestNetwork, ip
from tests.servers.sshd import SshAccount


def client(lab: JumpLab) -> paramiko.SSHClient:
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    c.load_host_keys(str(lab.known_hosts))
    return c


def login(lab: JumpLab, host: str, port: int, account: SshAccount, sock: paramiko.Channel | None = None,
          key: bool = False) -> paramiko.SSHClient:
    c = client(lab)
    auth = {"key_filename": str(account.key_file)} if key else {"password": account.password}
    c.connect(host, port, account.system_user, sock=sock, allow_agent=False, look_for_keys=False, timeout=10,
              banner_timeout=10, auth_timeout=15, **auth)
    return c


def hop(c: paramiko.SSHClient, host: str, port: int) -> paramiko.Channel:
    transport = c.get_transport()
    assert transport is not None
    return transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=10)


@pytest.fixture
def via_jump1(jump_lab: JumpLab) -> Iterator[paramiko.SSHClient]:
    c = login(jump_lab, jump_lab.jump1.host, 22, jump_lab.jump1.account("linux"))
    yield c
    c.close()


def test_direct_connection_to_hidden_addresses_fails_at_once(jump_lab: JumpLab) -> None:
    for host, port in ((jump_lab.target.host, 22), (jump_lab.dropbear.host, jump_lab.dropbear.port),
                       (jump_lab.jump2.host, 22), (jump_lab.deep.host, 22)):
        with pytest.raises(OSError) as info:
            socket.create_connection((host, port), timeout=5).close()
        assert info.value.errno == errno.EHOSTUNREACH, (host, info.value)
    routes = ip("route", "show", jump_lab.cidr)
    assert f"unreachable {jump_lab.cidr}" in routes


def test_target_sshd_and_dropbear_through_jump(jump_lab: JumpLab, via_jump1: paramiko.SSHClient) -> None:
    watch = jump_lab.watch("jump1", "target", "dropbear")
    linux = jump_lab.target.account("linux")
    with login(jump_lab, jump_lab.target.host, 22, linux, hop(via_jump1, jump_lab.target.host, 22)) as c:
        _, out, _ = c.exec_command("id -un; hostname -I")
        text = out.read().decode()
    assert linux.system_user in text and jump_lab.target.host in text

    ios = jump_lab.target.account("cisco_ios")
    with login(jump_lab, jump_lab.target.host, 22, ios, hop(via_jump1, jump_lab.target.host, 22)) as c:
        shell = c.invoke_shell()
        shell.settimeout(10)
        seen = b""
        while not seen.rstrip().endswith(b">"):
            seen += shell.recv(4096)
    key = jump_lab.dropbear.account("key")
    db = jump_lab.dropbear
    with login(jump_lab, db.host, db.port, linux, hop(via_jump1, db.host, db.port)) as c:
        _, out, _ = c.exec_command("id -un")
        assert out.read().decode().strip() == linux.system_user
    with login(jump_lab, db.host, db.port, key, hop(via_jump1, db.host, db.port), key=True) as c:
        _, out, _ = c.exec_command("id -un")
        assert out.read().decode().strip() == key.system_user

    jump_log = watch["jump1"].new_text()
    assert f"server_request_direct_tcpip: originator 127.0.0.1 port 0, target {db.host} port {db.port}" in jump_log
    target_log = watch["target"].new_text()
    jump1_inner = jump_lab.target.host.rsplit(".", 1)[0] + ".9"  # jump1's address on link 1
    assert f"Accepted password for {linux.system_user} from {jump1_inner}" in target_log
    db_log = watch["dropbear"].new_text(settle=0.2)
    assert f"Password auth succeeded for '{linux.system_user}'" in db_log
    assert f"Pubkey auth succeeded for '{key.system_user}'" in db_log


def test_two_hop_chain(jump_lab: JumpLab, via_jump1: paramiko.SSHClient) -> None:
    watch = jump_lab.watch("jump2", "deep")
    j2 = login(jump_lab, jump_lab.jump2.host, 22, jump_lab.jump2.account("key"),
               hop(via_jump1, jump_lab.jump2.host, 22), key=True)
    deep = jump_lab.deep.account("linux")
    with j2, login(jump_lab, jump_lab.deep.host, 22, deep, hop(j2, jump_lab.deep.host, 22)) as c:
        _, out, _ = c.exec_command("hostname -I")
        assert out.read().decode().split() == [jump_lab.deep.host]
    assert f"target {jump_lab.deep.host} port 22" in watch["jump2"].new_text()
    assert f"Accepted password for {deep.system_user}" in watch["deep"].new_text()


def test_wrong_pin_at_second_hop_sends_nothing_past_it(jump_lab: JumpLab, via_jump1: paramiko.SSHClient) -> None:
    """What the driver must do, done by hand: check the hop's key before any credential."""
    watch = jump_lab.watch("jump2", "deep")
    transport = paramiko.Transport(hop(via_jump1, jump_lab.jump2.host, 22))
    transport.start_client(timeout=10)
    seen = transport.get_remote_server_key().fingerprint  # paramiko 3+: "SHA256:..."
    assert seen in jump_lab.jump2.host_key_fingerprints.values()
    wrong = jump_lab.jump1.host_key_fingerprints["ssh-ed25519"]
    assert seen != wrong
    transport.close()
    jump2_log = watch["jump2"].new_text(settle=0.3)
    assert "Connection from" in jump2_log  # the handshake reached jump2 ...
    assert "userauth-request" not in jump2_log and "Failed" not in jump2_log  # ... no credential did
    assert "Connection from" not in watch["deep"].new_text()


def test_wrong_password_at_jump_host(jump_lab: JumpLab) -> None:
    watch = jump_lab.watch("jump1", "target")
    account = jump_lab.jump1.account("linux")
    wrong = SshAccount(**{**account.__dict__, "password": account.password + "x"})
    with pytest.raises(paramiko.AuthenticationException):
        login(jump_lab, jump_lab.jump1.host, 22, wrong)
    assert f"Failed password for {account.system_user}" in watch["jump1"].new_text(settle=0.2)
    assert "Connection from" not in watch["target"].new_text()


def test_portal_through_port_forward(jump_lab: JumpLab, via_jump1: paramiko.SSHClient) -> None:
    forward = LocalForward(via_jump1.get_transport(), (jump_lab.target.host, 80))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", forward.port, timeout=10)
        conn.request("GET", "/pfsense/", headers={"Host": jump_lab.target.host})
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
    finally:
        forward.close()
    assert resp.status == 200 and 'name="usernamefld"' in body


def test_network_cleanup_after_failed_start() -> None:
    before_ns, before_routes = ip("netns", "list"), ip("route")
    net = TestNetwork(("a",), (Link("root", "a"), Link("a", "missing")))  # no namespace "missing"
    with pytest.raises(RuntimeError, match="ip link add"), net:
        pass
    assert ip("netns", "list") == before_ns
    assert ip("route") == before_routes
