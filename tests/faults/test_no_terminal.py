"""A ``prompt`` secret without a terminal to type it at (issue 10, fourth symptom): under cron,
systemd or CI (``setsid``: no controlling terminal, stdin /dev/null) ``run`` printed "Warning:
Password input may be echoed." and "internal error (Abort: )"; with a controlling terminal but
stdin redirected it hung. Now: one line naming the target and the field, exit 2, before anything
connects (the sshd logs no connection), never a hang. With the terminal as stdin the prompt is
asked there and the capture goes on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.faults.faultkit import cli_env, run_on_a_terminal
from tests.seal.helpers import Keyset
from tests.servers.sshd import InventoryTarget, SshdTargets, build_inventory

LINE = ("error: target 'rtr' field 'password': `prompt` needs a terminal (no terminal is attached to standard "
        "input); use env:, file: or keepass: for unattended runs")


@pytest.fixture
def prompt_inventory(tmp_path: Path, fault_sshd: SshdTargets) -> Path:
    path = tmp_path / "inventory.yaml"
    build_inventory(path, [InventoryTarget("rtr", fault_sshd.account("linux"), fault_sshd.port)])
    doc = yaml.safe_load(path.read_text())
    doc["targets"][0]["password"] = "prompt"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def command(kind: str, inventory: Path, tmp_path: Path, keyset: Keyset) -> list[str]:
    case = ["--case", str(tmp_path / "case")]
    if kind == "capture":
        return ["capture", str(inventory), *case]
    return ["run", str(inventory), *case, "--sign-key", str(keyset.sign_key), "-r", keyset.recipient,
            "--archive-dir", str(tmp_path / "archives")]


def connections(sshd: SshdTargets) -> int:
    assert sshd.log is not None
    return sshd.log.read_text(errors="replace").count("Connection from")


@pytest.mark.parametrize("kind", ["capture", "run"])
@pytest.mark.parametrize("how", ["setsid, stdin /dev/null", "a terminal, stdin redirected"])
def test_a_prompt_secret_without_a_terminal_is_one_line_before_anything_connects(
        kind: str, how: str, prompt_inventory: Path, fault_sshd: SshdTargets, keyset: Keyset, tmp_path: Path) -> None:
    before = connections(fault_sshd)
    argv = command(kind, prompt_inventory, tmp_path, keyset)
    if how.startswith("setsid"):
        done = subprocess.run(["setsid", "-w", sys.executable, "-m", "evidence_kit", *argv], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60, env=cli_env())
        code, output = done.returncode, done.stdout + done.stderr
    else:
        code, output = run_on_a_terminal(argv, cli_env(), stdin="/dev/null", timeout=60)
    assert code == 2, output
    assert output.strip() == LINE, output  # nothing else: no "may be echoed" warning, no traceback
    assert connections(fault_sshd) == before  # refused before any connection
    assert not (tmp_path / "case").exists() and not (tmp_path / "archives").exists()


def test_with_the_terminal_as_stdin_the_prompt_is_asked_there(prompt_inventory: Path, fault_sshd: SshdTargets,
                                                              tmp_path: Path, keyset: Keyset) -> None:
    linux = fault_sshd.account("linux")
    code, output = run_on_a_terminal(command("capture", prompt_inventory, tmp_path, keyset), cli_env(),
                                     answers=(linux.password,), timeout=120)
    assert code == 0, output
    assert "target 'rtr' field 'password':" in output and "login_ok" in output
    assert linux.password not in output  # typed hidden: not echoed


def test_ctrl_c_at_the_prompt_is_an_interrupt(prompt_inventory: Path, fault_sshd: SshdTargets, tmp_path: Path,
                                              keyset: Keyset) -> None:
    before = connections(fault_sshd)
    code, output = run_on_a_terminal(command("capture", prompt_inventory, tmp_path, keyset), cli_env(),
                                     answers=("\x03",), timeout=60)
    assert code == 130, output
    assert output.strip().splitlines()[-1].startswith("error: interrupted by SIGINT; "), output
    assert "Aborted" not in output and "Traceback" not in output
    assert connections(fault_sshd) == before and not (tmp_path / "case").exists()
