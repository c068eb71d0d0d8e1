"""Fixtures for scheduled runs: an sshd of their own (its passwords are changed between runs,
which must not disturb the session's shared sshd), signing keys, and running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.sshd import SSHD, SshdServer, SshdTargets


@pytest.fixture(scope="module")
def own_sshd() -> Iterator[SshdTargets]:
    if os.geteuid() != 0 or not Path(SSHD).exists():
        pytest.skip("needs root and OpenSSH sshd (apt-get install openssh-server)")
    with SshdServer(roles=["linux", "cisco_ios"]) as targets:
        yield targets


@dataclass(frozen=True)
class Keys:
    folder: Path
    sign_key: Path
    sign_pub: Path
    identity: Path
    recipient: str


@pytest.fixture(scope="module")
def run_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    from evidence_kit.seal import keys

    folder = tmp_path_factory.mktemp("keys")
    made = keys.generate(folder)
    return Keys(folder, folder / keys.SIGNING_KEY_FILE, folder / keys.SIGNING_PUB_FILE, folder / keys.IDENTITY_FILE,
                made.recipient)


def set_password(system_user: str, password: str) -> None:
    """``chpasswd`` on the test sshd's account: the credential stops (or starts) working."""
    subprocess.run(["chpasswd"], input=f"{system_user}:{password}\n", text=True, check=True, timeout=30,
                   capture_output=True)


def cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidence_kit", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)
