"""A real ``ssh-agent`` started by the test, holding two keys, for ``key: agent`` targets.

``ssh-agent -D -a SOCKET`` runs in the foreground as a child process; ``ssh-add`` loads two
fresh keys, then their private files are deleted, so the agent is the only place that can sign
with them (a driver that reads a key file instead cannot pass):

- ``other`` (RSA 3072), loaded first and authorized nowhere: a client must move past a key the
  server refuses, as with a technician's real agent;
- ``authorized`` (Ed25519), which :meth:`AgentKeys.authorize` appends to a test user's
  ``~/.ssh/authorized_keys`` (the ``ssh_agent`` fixture: the sshd fixture's ``key`` user).

The fixture does **not** put ``SSH_AUTH_SOCK`` into the test process's environment: paramiko's
``SSHClient.connect`` tries agent keys by default (``allow_agent=True``), so an agent in the
environment would log in a test that means to use a wrong password. Tests set it themselves
(``monkeypatch.setenv("SSH_AUTH_SOCK", str(agent.auth_sock))``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers.lifecycle import ServerFixture, end_process, run_checked
from tests.servers.sshd import SshdTargets, fingerprint_of_pub

SSH_AGENT = "/usr/bin/ssh-agent"


@dataclass(frozen=True)
class AgentKey:
    name: str
    key_type: str  # ssh-ed25519 / ssh-rsa
    public_line: str  # as in authorized_keys
    fingerprint: str  # SHA256:...


@dataclass(frozen=True)
class AgentKeys:
    auth_sock: Path
    pid: int
    authorized: AgentKey
    other: AgentKey

    def env(self) -> dict[str, str]:
        return {"SSH_AUTH_SOCK": str(self.auth_sock)}

    def authorize(self, system_user: str) -> None:
        """Let ``authorized`` log in as ``system_user`` (appended once to its authorized_keys)."""
        entry = pwd.getpwnam(system_user)
        ssh_dir = Path(entry.pw_dir) / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        keys = ssh_dir / "authorized_keys"
        text = keys.read_text() if keys.exists() else ""
        if self.authorized.public_line not in text:
            sep = "" if not text or text.endswith("\n") else "\n"
            keys.write_text(text + sep + self.authorized.public_line + "\n")
        keys.chmod(0o600)
        for p in (ssh_dir, keys):
            os.chown(p, entry.pw_uid, entry.pw_gid)


@dataclass
class SshAgent(ServerFixture[AgentKeys]):
    """Start/stop the agent; a context manager that always cleans up."""

    workdir: Path = field(init=False)
    _proc: subprocess.Popen[bytes] | None = field(init=False, default=None)


    def start(self) -> AgentKeys:
        self.workdir = Path(tempfile.mkdtemp(prefix="ekt-agent-"))  # 0700: only we reach the socket
        sock = self.workdir / "agent.sock"
        with open(self.workdir / "agent.log", "wb") as log:
            self._proc = subprocess.Popen([SSH_AGENT, "-D", "-a", str(sock)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not sock.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ssh-agent did not start: {(self.workdir / 'agent.log').read_text()[-300:]}")
            time.sleep(0.01)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        keys = {}
        for name, ktype, extra in (("other", "rsa", ["-b", "3072"]), ("authorized", "ed25519", [])):
            path = self.workdir / f"id_{name}"
            run_checked(["ssh-keygen", "-q", "-t", ktype, *extra, "-N", "", "-C", f"ekt-agent-{name}", "-f", str(path)])
            proc = subprocess.run(["ssh-add", "-q", str(path)], env=env, capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                raise RuntimeError(f"ssh-add failed: {proc.stderr.strip()}")
            path.unlink()  # only the agent holds the private key now
            line = path.with_suffix(".pub").read_text().strip()
            keys[name] = AgentKey(name, line.split()[0], line, fingerprint_of_pub(line))
        return AgentKeys(sock, self._proc.pid, keys["authorized"], keys["other"])

    def stop(self) -> None:
        if self._proc is not None:
            end_process(self._proc)
            self._proc = None
        if getattr(self, "workdir", None) is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def ssh_agent(sshd_targets: SshdTargets) -> Iterator[AgentKeys]:
    """The agent, its ``authorized`` key accepted for ``sshd_targets.account("key")``."""
    if not Path(SSH_AGENT).exists():
        pytest.skip("needs ssh-agent (apt-get install openssh-client)")
    with SshAgent() as agent:
        agent.authorize(sshd_targets.account("key").system_user)
        yield agent
