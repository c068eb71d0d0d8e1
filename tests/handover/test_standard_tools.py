"""docs/handover.md's standard-tool commands, run verbatim against a real handover."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from evidence_kit.seal import keys
from tests.handover.conftest import Handed
from tests.servers.tsa import TSA

DOC = Path(__file__).resolve().parents[2] / "docs" / "handover.md"


def block(name: str) -> str:
    text = DOC.read_text()
    part = text.split(f"<!-- tested:{name}:start -->", 1)[1].split(f"<!-- tested:{name}:end -->", 1)[0]
    return re.search(r"```sh\n(.*?)```", part, re.S).group(1)  # type: ignore[union-attr]


def run(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _env(tmp_path: Path, **values: object) -> dict[str, str]:
    """PATH with an ``evidence-kit`` that is this checkout's (whatever else is installed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / "evidence-kit"
    tool.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m evidence_kit "$@"\n')
    tool.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **{k: str(v) for k, v in values.items()}}


def test_recipient_commands(handed: Handed, tsa: TSA, tmp_path: Path) -> None:
    w = handed.world
    env = _env(tmp_path, DIR=handed.out, IDENTITY=w.newprov_ssh, TSA_CA=tsa.root_pem, WORK=tmp_path / "work",
               TARGET="core-router")
    done = run(block("recipient"), env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("named by the transmittal") == 4 and "NOT named" not in done.stdout
    assert "Signature Verified Successfully" in done.stdout
    assert w.provider.signer_fingerprint.removeprefix("SHA256:") in done.stdout
    assert "Verification: OK" in done.stdout
    assert "core-router\nold-switch" in done.stdout
    assert f"Password: {w.device.password}" in done.stdout
    assert re.search(r"^\d{6}$", done.stdout, re.M)


def test_the_same_commands_catch_a_change(handed: Handed, tsa: TSA, tmp_path: Path) -> None:
    folder = tmp_path / "handover"
    shutil.copytree(handed.out, folder)
    path = folder / "transmittal.json"
    path.write_text(path.read_text().replace("old-switch", "new-switch"))
    env = _env(tmp_path, DIR=folder, IDENTITY=handed.world.newprov_ssh, TSA_CA=tsa.root_pem, WORK=tmp_path / "w",
               TARGET="core-router")
    done = run(block("recipient"), env, tmp_path)
    assert done.returncode != 0 and "Signature Verification Failure" in done.stdout + done.stderr


def test_acknowledgment_commands(handed: Handed, tmp_path: Path) -> None:
    folder = tmp_path / "handover"
    shutil.copytree(handed.out, folder)
    pem = keys.generate(tmp_path / "pem")
    env = _env(tmp_path, DIR=folder, SSH_KEY=handed.world.newprov_ssh, PEM_KEY=pem.signing_key, NAME="New Provider",
               WORK=tmp_path)
    done = run(block("ack"), env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("acknowledges this transmittal") == 2
    assert done.stdout.count('Good "evidence-kit-acknowledgment" signature for ack') == 2
    assert "Signature Verified Successfully" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "evidence_kit", "verify",
                             next(p for p in folder.glob("*.age") if not p.name.endswith("-credentials.age")),
                             "-i", str(handed.world.client.identity)], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    lines = [ln for ln in listed.stdout.splitlines() if ln.startswith("PASS  acknowledgment ")]
    assert len(lines) == 3, listed.stdout
    assert any("signed this transmittal with ssh-keygen" in ln for ln in lines)
