"""SSH targets behind jump hosts (tests/servers/jump.py: namespaces the test makes, reachable only
through jump1): the route is taken, checked hop by hop before any credential, and recorded; a hop
that fails names itself and nothing is sent past it (the next servers' logs say so)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.drivers.route_support import FAST, Secrets, events, outcomes, run_inventory
from tests.helpers import assert_no_secrets
from tests.servers.jump import JumpLab
from tests.servers.sshd import SshdTargets


def hop(server: SshdTargets, secrets: Secrets, role: str = "linux", **extra: Any) -> dict[str, Any]:
    account = server.account(role)
    entry: dict[str, Any] = {"host": server.host, "port": server.port, "username": account.username}
    if role == "key":
        entry["key_file"] = str(account.key_file)
    else:
        entry["password"] = secrets.ref(account.password)
    return {**entry, **extra}


def target(name: str, server: Any, secrets: Secrets, role: str = "linux", **extra: Any) -> dict[str, Any]:
    account = server.account(role)
    entry: dict[str, Any] = {"name": name, "profile": account.profile, "host": server.host, "port": server.port,
                             "username": account.username}
    if role == "key":
        entry["key_file"] = str(account.key_file)
    else:
        entry["password"] = secrets.ref(account.password)
    if account.enable_secret:
        entry["enable_secret"] = secrets.ref(account.enable_secret)
    return {**entry, **extra}


def test_direct_fails_and_the_chain_succeeds(jump_lab: JumpLab, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    lab, s = jump_lab, Secrets()
    kh = str(lab.known_hosts)
    watch = lab.watch("jump1", "target", "dropbear")
    result = run_inventory(tmp_path, monkeypatch, s, hops={"jump1": hop(lab.jump1, s, known_hosts=kh)},
                           defaults={"via": "jump1", "known_hosts": kh}, targets=[
        target("linux", lab.target, s),
        target("ios", lab.target, s, "cisco_ios"),
        target("dropbear-pw", lab.dropbear, s),
        target("dropbear-key", lab.dropbear, s, "key"),
        target("direct", lab.target, s, via=[], timeouts={**FAST, "connect": 3}),
        target("closed-port", lab.target, s, port=2999),
    ])
    got = outcomes(result)
    for name in ("linux", "ios", "dropbear-pw", "dropbear-key"):
        assert got[name][0] == "login_ok", (name, got[name])
    assert got["direct"][0] == "unreachable" and "No route to host" in got["direct"][1], got["direct"]
    # The hop's own reason, which paramiko leaves out of its exception, is in the detail.
    assert got["closed-port"] == ("unreachable", f"hop 'jump1' ({lab.jump1.host}:22) could not open a connection "
                                  f"to {lab.target.host}:2999 (the hop answered: Connection refused)")
    case = tmp_path / "case"
    jump1 = lab.jump1.host_key_fingerprints["ssh-ed25519"]
    for name, server in (("linux", lab.target), ("dropbear-key", lab.dropbear)):
        [connected] = events(case, name, "route_connected")
        data = connected["data"]
        assert data["destination"] == f"{server.host}:{server.port}" and data["connected_by"] == "hop 'jump1'"
        [h] = data["hops"]
        assert h["hop"] == "jump1" and h["address"] == f"{lab.jump1.host}:22" and h["host_key"] == jump1
        assert h["host_key_check"] == "match" and h["username"] == lab.jump1.account("linux").username
        assert data["local"].startswith(lab.root_address + ":")
        # the target's own host key is checked too (known_hosts from defaults)
        [check] = events(case, name, "host_key_check")
        assert check["data"]["result"] == "match"
    ident = {r.name: r.identity for r in result.results}
    assert ident["ios"]["route"].startswith(f"hop jump1 ({lab.jump1.host}:22, {jump1}, match) -> ")
    assert ident["ios"]["route_via"] == "hop jump1"  # the report's summary line (report/targets.py)
    # The first target through jump1 opened it; the others journal that they used the same one.
    opened = [n for n in ("linux", "ios", "dropbear-pw", "dropbear-key") if events(case, n, "hop_auth")]
    reused = [n for n in ("linux", "ios", "dropbear-pw", "dropbear-key") if events(case, n, "hop_reused")]
    assert len(opened) == 1 and len(reused) == 3
    jump_log = watch["jump1"].new_text(settle=0.3)
    assert jump_log.count(f"Accepted password for {lab.jump1.account('linux').system_user}") == 1
    assert f"target {lab.dropbear.host} port {lab.dropbear.port}" in jump_log
    jump1_inner = lab.target.host.rsplit(".", 1)[0] + ".9"
    assert f"Accepted password for {lab.target.account('linux').system_user} from {jump1_inner}" in \
        watch["target"].new_text()
    assert f"Pubkey auth succeeded for '{lab.dropbear.account('key').system_user}'" in \
        watch["dropbear"].new_text(settle=0.2)
    assert_no_secrets(case, [*s.values(), *lab.secrets()])


def test_two_hop_chain_to_deep(jump_lab: JumpLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab, s = jump_lab, Secrets()
    kh = str(lab.known_hosts)
    watch = lab.watch("jump2", "deep")
    result = run_inventory(tmp_path, monkeypatch, s, hops={
        "jump1": hop(lab.jump1, s, known_hosts=kh),
        "jump2": hop(lab.jump2, s, "key", known_hosts=kh, via="jump1"),
    }, targets=[target("deep", lab.deep, s, via="jump2", known_hosts=kh),
                target("deep-ios", lab.deep, s, "cisco_ios", via=["jump1", "jump2"], known_hosts=kh)])
    got = outcomes(result)
    assert got["deep"][0] == "login_ok" and got["deep-ios"][0] == "login_ok", got
    [connected] = events(tmp_path / "case", "deep", "route_connected")
    assert [h["hop"] for h in connected["data"]["hops"]] == ["jump1", "jump2"]
    assert connected["data"]["hops"][1]["key_fingerprint"]  # jump2 logged in with its key
    assert connected["data"]["destination"] == f"{lab.deep.host}:22"
    assert f"target {lab.deep.host} port 22" in watch["jump2"].new_text(settle=0.3)
    assert f"Accepted password for {lab.deep.account('linux').system_user}" in watch["deep"].new_text()
    assert_no_secrets(tmp_path / "case", [*s.values(), *lab.secrets()])


def test_wrong_pinned_key_at_a_hop_sends_nothing_past_it(jump_lab: JumpLab, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    lab, s = jump_lab, Secrets()
    watch = lab.watch("jump2", "deep")
    wrong = lab.jump1.host_key_fingerprints["ssh-ed25519"]  # a real key, but jump1's, not jump2's
    result = run_inventory(tmp_path, monkeypatch, s, hops={
        "jump1": hop(lab.jump1, s, known_hosts=str(lab.known_hosts)),
        "jump2": hop(lab.jump2, s, via="jump1", host_key=wrong),
    }, targets=[target("deep", lab.deep, s, via="jump2")])
    [r] = result.results
    assert r.outcome.value == "host_key_mismatch", r.detail
    assert r.detail.startswith(f"hop 'jump2' ({lab.jump2.host}:22): host key ") and wrong in r.detail
    assert "no credential was sent to it or beyond" in r.detail
    kinds = [e["event"] for e in events(tmp_path / "case", "deep")]
    assert "hop_host_key_check" in kinds and kinds.count("hop_auth") == 1  # jump1 only
    assert "route_connected" not in kinds and "auth_attempt" not in kinds
    jump2_log = watch["jump2"].new_text(settle=0.5)
    assert "Connection from" in jump2_log  # the handshake reached jump2 ...
    assert "userauth-request" not in jump2_log and "Failed" not in jump2_log and "Accepted" not in jump2_log
    assert "Connection from" not in watch["deep"].new_text()  # ... and nothing went past it
    assert_no_secrets(tmp_path / "case", [*s.values(), *lab.secrets()])


def test_a_hop_that_refuses_the_password_is_tried_once_for_the_run(jump_lab: JumpLab, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    lab, s = jump_lab, Secrets()
    watch = lab.watch("jump1", "target")
    account = lab.jump1.account("linux")
    bad = hop(lab.jump1, s, known_hosts=str(lab.known_hosts))
    bad["password"] = s.ref(account.password + "-wrong")
    result = run_inventory(tmp_path, monkeypatch, s, hops={"jump1": bad}, defaults={"via": "jump1"},
                           targets=[target(f"t{i}", lab.target, s) for i in range(3)], concurrency=3)
    for r in result.results:
        assert r.outcome.value == "auth_failed", (r.name, r.detail)
        assert r.detail.startswith(f"hop 'jump1' ({lab.jump1.host}:22): authentication failed for "
                                   f"{account.username}"), r.detail
    assert sum("not tried again" in r.detail for r in result.results) == 2
    jump_log = watch["jump1"].new_text(settle=0.5)
    assert jump_log.count(f"Failed password for {account.system_user}") == 1
    assert "Connection from" not in watch["target"].new_text()
    assert_no_secrets(tmp_path / "case", [*s.values(), *lab.secrets()])


def test_reuse_false_opens_one_hop_connection_per_target(jump_lab: JumpLab, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    lab, s = jump_lab, Secrets()
    watch = lab.watch("jump1")
    result = run_inventory(tmp_path, monkeypatch, s,
                           hops={"jump1": hop(lab.jump1, s, known_hosts=str(lab.known_hosts), reuse=False)},
                           defaults={"via": "jump1"}, targets=[target(f"t{i}", lab.target, s) for i in range(3)])
    assert {r.outcome.value for r in result.results} == {"login_ok"}
    log = watch["jump1"].new_text(settle=0.5)
    assert log.count(f"Accepted password for {lab.jump1.account('linux').system_user}") == 3
    assert not any(events(tmp_path / "case", f"t{i}", "hop_reused") for i in range(3))


@pytest.fixture
def silent_behind_jump(jump_lab: JumpLab) -> Any:
    """A TCP port inside the target namespace that accepts and never says a word."""
    import socket
    import threading

    from tests.servers.netns import in_netns

    def bind() -> socket.socket:
        sock = socket.socket()
        sock.bind((jump_lab.target.host, 0))
        sock.listen(8)
        return sock

    listener = in_netns(jump_lab.namespaces["target"], bind)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()
    for conn in held:
        conn.close()


def test_stopping_the_run_closes_the_hop_connection(jump_lab: JumpLab, silent_behind_jump: int,
                                                    tmp_path: Path) -> None:
    """Ctrl-C while a target behind the hop waits for an SSH banner that never comes: exit 130,
    the target is recorded as interrupted, and jump1's session for the hop connection ends."""
    lab, s = jump_lab, Secrets()
    watch = lab.watch("jump1")
    doc = {"case": {"client": "C", "provider": "P", "technician": "T"},
           "hops": {"jump1": hop(lab.jump1, s, known_hosts=str(lab.known_hosts))},
           "targets": [{"name": "silent", "profile": "linux", "host": lab.target.host, "port": silent_behind_jump,
                        "username": "u", "password": s.ref("not-sent-anyway"), "via": "jump1",
                        "timeouts": {"banner": 120, "auth": 120}}]}
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(doc))
    case = tmp_path / "case"
    proc = subprocess.Popen([sys.executable, "-m", "evidence_kit", "capture", str(inv), "--case", str(case)],
                            env={**os.environ, **s.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (case / "journal.jsonl").exists() or '"route_connected"' not in (case / "journal.jsonl").read_text():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    stopped = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert time.monotonic() - stopped < 15
    [finished] = events(case, "silent", "target_finished")
    assert "interrupted" in finished["data"]["detail"]
    # jump1's session process for that connection ends (sshd does not always log the close).
    children = re.findall(r"User child is on pid (\d+)", watch["jump1"].new_text())
    assert children, watch["jump1"].new_text()[-2000:]
    deadline = time.monotonic() + 20
    while Path(f"/proc/{children[-1]}").exists():
        assert time.monotonic() < deadline, "jump1 still holds the hop connection"
        time.sleep(0.2)


# --- proxies (tests/servers/proxies.py: Dante and tinyproxy, both with proxy authentication) ----


@pytest.fixture(params=["socks5", "http"])
def proxy(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("socks_proxy" if request.param == "socks5" else "http_proxy")


def test_ssh_target_through_an_authenticating_proxy(proxy: Any, sshd_targets: SshdTargets, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    s = Secrets()
    proxies = {"office": {"url": f"{proxy.kind}://{proxy.host}:{proxy.port}", "username": proxy.username,
                          "password": s.ref(proxy.password)}}
    wrong = {"url": f"{proxy.kind}://{proxy.host}:{proxy.port}", "username": proxy.username,
             "password": s.ref(proxy.password + "x")}
    kh = str(sshd_targets.known_hosts)
    result = run_inventory(tmp_path, monkeypatch, s, proxies=proxies, targets=[
        target("via-proxy", sshd_targets, s, proxy="office", known_hosts=kh),
        target("ios-via-proxy", sshd_targets, s, "cisco_ios", proxy="office", known_hosts=kh),
        target("wrong-proxy-pw", sshd_targets, s, proxy=wrong),
    ])
    got = outcomes(result)
    assert got["via-proxy"][0] == "login_ok" and got["ios-via-proxy"][0] == "login_ok", got
    outcome, detail = got["wrong-proxy-pw"]
    assert outcome == "auth_failed" and "proxy 'wrong-proxy-pw proxy'" in detail, detail
    assert f"{proxy.kind}://{proxy.host}:{proxy.port}" in detail and "refused the proxy credentials" in detail
    case = tmp_path / "case"
    [connected] = events(case, "via-proxy", "proxy_connected")
    assert connected["data"]["url"] == f"{proxy.kind}://{proxy.host}:{proxy.port}"  # never the password
    assert connected["data"]["username"] == proxy.username
    assert connected["data"]["destination"] == f"{sshd_targets.host}:{sshd_targets.port}"
    [routed] = events(case, "via-proxy", "route_connected")
    assert routed["data"]["connected_by"].startswith("proxy 'office'")
    assert str(sshd_targets.port) in proxy.log.read_text()  # the proxy carried it
    assert_no_secrets(case, [*s.values(), *sshd_targets.secrets()])


# --- agent keys (tests/servers/agent.py) -------------------------------------------------------------


def test_agent_key_login_records_the_key_fingerprint(ssh_agent: Any, sshd_targets: SshdTargets, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.auth_sock))
    s = Secrets()
    account = sshd_targets.account("key")
    base = {"profile": "linux", "host": sshd_targets.host, "port": sshd_targets.port, "username": account.username,
            "known_hosts": str(sshd_targets.known_hosts)}
    result = run_inventory(tmp_path, monkeypatch, s, targets=[
        {"name": "agent", **base, "key": "agent"},
        # The agent is in the environment, but this target names a (wrong) password only: paramiko
        # would try the agent's keys by default; the driver never does.
        {"name": "password-only", **base, "password": s.ref(account.password + "-wrong")},
    ])
    got = outcomes(result)
    assert got["agent"][0] == "login_ok", got
    assert got["password-only"][0] == "auth_failed", got
    case = tmp_path / "case"
    tried = [e["data"]["key_fingerprint"] for e in events(case, "agent", "auth_attempt")]
    assert tried == [ssh_agent.other.fingerprint, ssh_agent.authorized.fingerprint]  # moved past the refused key
    [auth] = events(case, "agent", "auth")
    assert auth["data"]["key_fingerprint"] == ssh_agent.authorized.fingerprint
    assert {r.name: r.identity for r in result.results}["agent"]["key_fingerprint"] == ssh_agent.authorized.fingerprint
    assert [e["data"]["method"] for e in events(case, "password-only", "auth_attempt")] == ["password"]
    assert_no_secrets(case, [*s.values(), account.password])


def test_agent_key_at_a_hop(ssh_agent: Any, jump_lab: JumpLab, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.auth_sock))
    ssh_agent.authorize(jump_lab.jump1.account("key").system_user)  # users are shared by the namespaces
    lab, s = jump_lab, Secrets()
    result = run_inventory(tmp_path, monkeypatch, s, hops={"jump1": {
        "host": lab.jump1.host, "username": lab.jump1.account("key").username, "key": "agent",
        "known_hosts": str(lab.known_hosts), "reuse": False}}, targets=[target("t", lab.target, s, via="jump1")])
    [r] = result.results
    assert r.outcome.value == "login_ok", r.detail
    [connected] = events(tmp_path / "case", "t", "route_connected")
    assert connected["data"]["hops"][0]["key_fingerprint"] == ssh_agent.authorized.fingerprint


# --- OpenSSH config: aliases and ProxyJump (tests/servers/sshconfig.py) -------------------------------


def test_ssh_config_aliases_and_proxy_jump(jump_lab: JumpLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           no_secrets: Any) -> None:
    from tests.servers.sshconfig import lab_aliases, write_ssh_config

    lab = jump_lab
    config = write_ssh_config(tmp_path / "ssh_config", lab_aliases(lab))
    watch = lab.watch("jump2", "deep", "dropbear")
    result = run_inventory(tmp_path, monkeypatch, Secrets(), targets=[
        {"name": "deep", "profile": "linux", "host": "deep", "ssh_config": str(config)},
        {"name": "dropbear", "profile": "linux", "host": "dropbear", "ssh_config": str(config)},
    ])
    got = outcomes(result)
    assert got["deep"][0] == "login_ok" and got["dropbear"][0] == "login_ok", got
    case = tmp_path / "case"
    [connected] = events(case, "deep", "route_connected")
    assert [h["hop"] for h in connected["data"]["hops"]] == ["jump1", "jump2"]  # deep -> jump2 -> jump1
    assert connected["data"]["destination"] == f"{lab.deep.host}:22"
    assert all(h["host_key_check"] == "match" for h in connected["data"]["hops"])  # UserKnownHostsFile
    [used] = events(case, "deep", "ssh_config")
    applied = {a["directive"] for a in used["data"]["applied"]}
    assert applied == {"HostName", "Port", "User", "IdentityFile", "ProxyJump", "UserKnownHostsFile"}
    ignored = {i["directive"]: i["why"] for i in used["data"]["ignored"]}
    assert "strictly" in ignored["StrictHostKeyChecking"] and "IdentitiesOnly" in ignored
    assert events(case, "deep", "host_key_check")[0]["data"]["result"] == "match"
    assert f"target {lab.deep.host} port 22" in watch["jump2"].new_text(settle=0.3)
    assert f"Accepted publickey for {lab.deep.account('key').system_user}" in watch["deep"].new_text()
    assert f"Pubkey auth succeeded for '{lab.dropbear.account('key').system_user}'" in \
        watch["dropbear"].new_text(settle=0.2)
    no_secrets(case, [lab.deep.key_private_text().splitlines()[1], *lab.secrets()])


def test_a_silent_or_closed_hop_ends_the_target_naming_it(sshd_targets: SshdTargets, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    s = Secrets()
    base = {"host": sshd_targets.host, "username": "ops", "password": s.ref("never-sent-to-a-silent-hop")}
    hops = {"silent": {**base, "port": sshd_targets.silent_port, "reuse": False},
            "closed": {**base, "port": sshd_targets.unreachable_port, "reuse": False}}
    fast = {"connect": 3, "banner": 2, "auth": 5, "command": 5}
    result = run_inventory(tmp_path, monkeypatch, s, hops=hops, targets=[
        target("behind-silent", sshd_targets, s, via="silent", timeouts=fast),
        target("behind-closed", sshd_targets, s, via="closed", timeouts=fast),
    ])
    got = outcomes(result)
    assert got["behind-silent"] == ("timeout", f"hop 'silent' ({sshd_targets.host}:{sshd_targets.silent_port}): "
                                    "server accepted TCP but sent no SSH banner within 2 s"), got
    outcome, detail = got["behind-closed"]
    assert outcome == "unreachable" and detail.startswith(
        f"hop 'closed' ({sshd_targets.host}:{sshd_targets.unreachable_port}): cannot connect to "), detail
    for name, hop in (("behind-closed", "closed"), ("behind-silent", "silent")):
        [finished] = events(tmp_path / "case", name, "target_finished")
        assert finished["data"]["failed_at"] == f"hop '{hop}'"
    assert not events(tmp_path / "case", "behind-silent", "hop_auth_attempt")  # nothing was sent


def test_a_shared_hop_connection_that_dies_is_opened_again(jump_lab: JumpLab, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """jump1's session for the run's shared connection is killed after the first target: the next
    target opens the hop again (pool or route retry) instead of failing."""
    from evidence_kit.capture import Progress, capture
    from evidence_kit.drivers.base import RunOptions
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver

    lab, s = jump_lab, Secrets()
    watch = lab.watch("jump1")
    doc = {"case": {"client": "C", "provider": "P", "technician": "T"},
           "hops": {"jump1": hop(lab.jump1, s, known_hosts=str(lab.known_hosts))}, "defaults": {"via": "jump1"},
           "targets": [target("first", lab.target, s), target("second", lab.target, s)]}
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(doc, sort_keys=False))
    for key, value in s.env.items():
        monkeypatch.setenv(key, value)

    def kill_hop_session(result: Any) -> None:
        if result.name == "first":
            for pid in re.findall(r"User child is on pid (\d+)", watch["jump1"].new_text()):
                os.kill(int(pid), signal.SIGKILL)
            time.sleep(0.3)

    result = capture(load_inventory(inv, ProfileRegistry()), tmp_path / "case", SecretResolver(),
                     RunOptions(concurrency=1), progress=Progress(finished=kill_hop_session))
    assert {r.name: r.outcome.value for r in result.results} == {"first": "login_ok", "second": "login_ok"}
    user = lab.jump1.account("linux").system_user
    assert watch["jump1"].new_text(settle=0.3).count(f"Accepted password for {user}") == 2
    assert events(tmp_path / "case", "second", "hop_auth")  # the second target opened the hop itself
