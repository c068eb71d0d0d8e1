"""The ssh_config reader (evidence_kit/route/sshconfig.py) against the real OpenSSH client:
``ssh -G -F CONFIG ALIAS`` prints what ssh itself would use, and our reader must agree on every
directive it honours (HostName, Port, User, IdentityFile, ProxyJump, UserKnownHostsFile)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from evidence_kit.errors import InventoryError
from evidence_kit.route.sshconfig import JumpSpec, SshConfig, match_patterns

SSH = shutil.which("ssh")


def config(tmp_path: Path) -> Path:
    extra = tmp_path / "extra.conf"
    extra.write_text("Host inc-*\n    HostName included.example\n    Port 2200\n")
    path = tmp_path / "config"
    path.write_text(f"""\
# aliases first: ssh takes the first value obtained for each directive
Include {extra}
Host r1 r1-alias
    HostName 10.1.0.1
    User=admin
    IdentityFile "{tmp_path}/key with space"
    IdentityFile %d/.ssh/id_%r_%h
    ProxyJump ops@bastion:2222,inner
Host bastion
    HostName %h.corp.example
    Port 2222
    UserKnownHostsFile {tmp_path}/kh1 {tmp_path}/kh2
Host *.lab !secret.lab
    User labuser
    ProxyJump none
Match originalhost m1
    HostName matched.example
Match host matched.example
    Port 2022
Host *
    User fallback
    Port 22
    UserKnownHostsFile {tmp_path}/kh-all
""")
    return path


def ssh_g(path: Path, alias: str) -> dict[str, list[str]]:
    proc = subprocess.run([SSH or "ssh", "-G", "-F", str(path), alias], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, []).append(value)
    return out


@pytest.mark.skipif(SSH is None, reason="needs the OpenSSH client (apt-get install openssh-client)")
@pytest.mark.parametrize("alias", ["r1", "r1-alias", "bastion", "x.lab", "secret.lab", "inc-7", "m1", "plain"])
def test_reader_agrees_with_ssh_dash_g(tmp_path: Path, alias: str) -> None:
    path = config(tmp_path)
    theirs = ssh_g(path, alias)
    host = SshConfig(path).lookup(alias)
    port = host.port() or 22
    user = host.user()
    assert host.hostname == theirs["hostname"][0]
    assert port == int(theirs["port"][0])
    assert user == theirs["user"][0]
    # ssh -G prints IdentityFile as written (tokens unexpanded); without any, its built-in
    # defaults, which we never use.
    ours_ids = [d.args[0] for d in host.identity_files]
    if ours_ids:
        assert [i.replace(str(Path.home()), "~") for i in ours_ids] == theirs["identityfile"]
    jump = host.proxy_jump()
    theirs_jump = theirs.get("proxyjump", ["none"])[0]
    if jump is None or not jump[0]:
        assert theirs_jump == "none"
    else:
        assert theirs_jump == host.get("proxyjump").value  # type: ignore[union-attr]
    known, _ = host.known_hosts_paths(user, port)
    assert [str(p) for p in known] == theirs["userknownhostsfile"][0].split()


def test_tokens_in_identity_file(tmp_path: Path) -> None:
    host = SshConfig(config(tmp_path)).lookup("r1")
    paths = [str(p) for p, _ in host.identity_paths(host.user(), host.port())]
    assert paths == [f"{tmp_path}/key with space", f"{Path.home()}/.ssh/id_admin_10.1.0.1"]


def test_proxy_jump_elements(tmp_path: Path) -> None:
    jump = SshConfig(config(tmp_path)).lookup("r1").proxy_jump()
    assert jump is not None
    assert jump[0] == [JumpSpec("bastion", "ops", 2222), JumpSpec("inner")]
    assert jump[1].line == 8


def test_unevaluated_match_is_recorded_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("Match exec \"test -e /nonexistent\"\n    ProxyJump jump9\nHost *\n    User u\n")
    host = SshConfig(path).lookup("anything")
    assert host.proxy_jump() is None
    [line] = host.unevaluated
    assert line.directive == "ProxyJump" and line.line == 2 and "not evaluated" in line.why


def test_patterns() -> None:
    assert match_patterns("db1.lab", ["*.lab"]) and not match_patterns("db1.lab", ["*.lab", "!db?.lab"])
    assert match_patterns("R1", ["r1"])  # host names are case-insensitive
    assert not match_patterns("r1[x]", ["r1?"]) and match_patterns("r1x", ["r1?"])


@pytest.mark.parametrize("text, problem", [
    ("Host a\n  Port 70000\n", "not a port number"),
    ('Host a\n  IdentityFile "unbalanced\n', "unbalanced quotes"),
    ("Host a\n  ProxyJump user@:x\n", "not [user@]host[:port]"),
])
def test_bad_lines_name_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(InventoryError) as info:
        host = SshConfig(path).lookup("a")
        host.port()
        host.proxy_jump()
    assert info.value.one_line().startswith(f"{path}: line 2: ") and problem in info.value.one_line()
