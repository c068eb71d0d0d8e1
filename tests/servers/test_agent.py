"""Smoke test of the ssh-agent fixture (tests/servers/agent.py): paramiko signs with the agent."""

from __future__ import annotations

import paramiko
import pytest

from tests.servers.agent import AgentKeys
from tests.servers.sshd import SshdTargets


def test_paramiko_agent_signs_and_logs_in(ssh_agent: AgentKeys, sshd_targets: SshdTargets,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.auth_sock))
    agent = paramiko.Agent()
    try:
        keys = agent.get_keys()
        assert [k.fingerprint for k in keys] == [ssh_agent.other.fingerprint, ssh_agent.authorized.fingerprint]
        account = sshd_targets.account("key")
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.RejectPolicy())
        c.load_host_keys(str(sshd_targets.known_hosts))
        with c:
            # The agent's first key is refused, the second accepted: the way real agents behave.
            c.connect(sshd_targets.host, sshd_targets.port, account.system_user, allow_agent=True,
                      look_for_keys=False, timeout=10)
            _, out, _ = c.exec_command("id -un")
            assert out.read().decode().strip() == account.system_user
    finally:
        agent.close()
    assert sshd_targets.log is not None
    log = sshd_targets.log.read_text()
    assert f"Accepted publickey for {account.system_user}" in log
    assert ssh_agent.authorized.fingerprint in log  # sshd names the key that signed
