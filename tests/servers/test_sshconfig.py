"""Smoke test of the ssh_config builder (tests/servers/sshconfig.py): OpenSSH's own client accepts
the config and reaches the lab's targets through ProxyJump, one and two hops, with key auth."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

from tests.servers.jump import JumpLab
from tests.servers.sshconfig import lab_aliases, write_ssh_config


def ssh(config: Path, alias: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", alias, command],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_openssh_reaches_targets_through_proxyjump(jump_lab: JumpLab, tmp_path: Path) -> None:
    config = write_ssh_config(tmp_path / "ssh_config", lab_aliases(jump_lab))
    watch = jump_lab.watch("jump1", "jump2")
    for alias, server in (("target", jump_lab.target), ("deep", jump_lab.deep), ("dropbear", jump_lab.dropbear)):
        proc = ssh(config, alias, "true; hostname -I; id -un")
        assert proc.returncode == 0, (alias, proc.stderr)
        assert proc.stdout.split() == [server.host, server.account("key").system_user], alias
    assert f"target {jump_lab.deep.host} port 22" in watch["jump2"].new_text()  # deep went via jump2
    assert f"target {jump_lab.jump2.host} port 22" in watch["jump1"].new_text()  # ... and jump2 via jump1


def test_openssh_refuses_a_hop_missing_from_known_hosts(jump_lab: JumpLab, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.touch()
    aliases = [replace(a, known_hosts=empty) if a.alias == "jump1" else a for a in lab_aliases(jump_lab)]
    config = write_ssh_config(tmp_path / "ssh_config", aliases)
    watch = jump_lab.watch("target")
    proc = ssh(config, "target", "true")
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr
    assert "Connection from" not in watch["target"].new_text()
