"""``schedule print|install``: the generated units pass ``systemd-analyze verify`` with nothing on
stderr (it exits 0 with only a warning for unknown keys), hold no secret, quote odd paths, and the
crontab line runs the same command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from evidence_kit.schedule.units import Schedule
from tests.schedule.conftest import Keys, cli

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="needs systemd-analyze (apt-get install systemd)")


@pytest.fixture
def inventory(tmp_path: Path, run_keys: Keys) -> Path:
    folder = tmp_path / "odd $HOME 100% folder"  # spaces, a dollar and a percent: quoting is tested
    folder.mkdir()
    (folder / "secrets").mkdir()
    (folder / "secrets" / "enable.txt").write_text("not-used-here\n")
    path = folder / "inventory.yaml"
    path.write_text(
        f"case: {{client: Contoso Ltd, provider: MSP, technician: T, recipients: [{run_keys.recipient}]}}\n"
        "targets:\n"
        "  - {name: core-router, profile: cisco_ios, host: 10.0.0.1, username: admin, password: env:ROUTER_PW,\n"
        "     enable_secret: file:secrets/enable.txt}\n"
        "  - {name: fw, profile: fortinet, host: 10.0.0.2, username: admin, password: env:FW_PW}\n"
        "alerts:\n"
        "  webhook: {url: env:HOOK_URL, secret: env:HOOK_SECRET}\n")
    return path


def _print(inventory: Path, keys: Keys, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli(["schedule", "print", str(inventory), "--sign-key", str(keys.sign_key), *extra], dict(os.environ),
               timeout=60)


def _verify(folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run([SYSTEMD_ANALYZE, "verify", str(folder / f"{name}.service"), str(folder / f"{name}.timer")],
                          capture_output=True, text=True, timeout=60)


@needs_systemd
@pytest.mark.parametrize("when", [["--every", "daily", "--at", "03:15"], ["--every", "hourly", "--at", "00:07"],
                                  ["--every", "weekly"], ["--every", "monthly", "--randomized-delay", "900"],
                                  ["--on-calendar", "Mon..Fri *-*-* 22:30:00"]])
def test_printed_units_verify_clean_and_hold_no_secret(inventory: Path, run_keys: Keys, tmp_path: Path,
                                                       when: list[str]) -> None:
    proc = _print(inventory, run_keys, "--tsa", "http://127.0.0.1:9/tsa", "--json", *when)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["name"] == "evidence-kit-contoso-ltd"
    assert plan["env_names"] == ["FW_PW", "HOOK_SECRET", "HOOK_URL", "ROUTER_PW"]  # names only, never values
    units = tmp_path / "units"
    units.mkdir()
    (units / f"{plan['name']}.service").write_text(plan["service"])
    (units / f"{plan['name']}.timer").write_text(plan["timer"])
    checked = _verify(units, plan["name"])
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    assert "EnvironmentFile=/etc/evidence-kit/evidence-kit-contoso-ltd.env" in plan["service"]
    assert "Persistent=true" in plan["timer"] and "WantedBy=timers.target" in plan["timer"]
    assert "%%" in plan["service"] and "$$HOME" in plan["service"]  # systemd specifiers and variables escaped
    for name in ("ROUTER_PW", "FW_PW", "HOOK_SECRET"):
        assert f"{name}=" not in plan["service"] and name not in plan["timer"]


def test_the_crontab_line_runs_the_same_command(inventory: Path, run_keys: Keys, tmp_path: Path) -> None:
    env_file = tmp_path / "run.env"
    env_file.write_text("ROUTER_PW=x\n")
    plan = Schedule(name="t", description="d", run_args=[str(inventory), "--case", str(inventory.parent / "c a%se")],
                    working_dir=inventory.parent, env_file=env_file, executable=["/usr/bin/printf", "%s\\n"],
                    every="daily", at="02:00", log_file=tmp_path / "out.log")
    line = plan.crontab()
    fields, command = line.split(" ", 5)[:5], line.split(" ", 5)[5]
    assert fields == ["0", "2", "*", "*", "*"]
    assert "%" not in command.replace("\\%", "")  # cron turns a bare % into a newline
    # What cron hands to /bin/sh: the command with each \% unescaped.
    subprocess.run(["/bin/sh", "-c", command.replace("\\%", "%")], check=True, timeout=30)
    printed = (tmp_path / "out.log").read_text().splitlines()
    assert printed == ["run", str(inventory), "--case", str(inventory.parent / "c a%se")]


def test_a_prompt_secret_is_refused_for_a_schedule(inventory: Path, run_keys: Keys) -> None:
    inventory.write_text(inventory.read_text().replace("password: env:FW_PW", "password: prompt"))
    proc = _print(inventory, run_keys)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "target 'fw' field 'password'" in lines[0] and "needs a terminal" in lines[0]
    assert str(inventory) in lines[0]


@pytest.mark.parametrize("bad", [["--at", "25:00"], ["--name", "evil/../unit"], ["--every", "yearly"]])
def test_bad_schedule_options_are_one_line_exit_2(inventory: Path, run_keys: Keys, bad: list[str]) -> None:
    proc = _print(inventory, run_keys, *bad)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@needs_systemd
def test_install_writes_verified_units_and_a_private_env_file(inventory: Path, run_keys: Keys,
                                                               tmp_path: Path) -> None:
    units, env_file = tmp_path / "system", tmp_path / "etc" / "contoso.env"
    units.mkdir()
    credential = tmp_path / "router password"
    credential.write_text("kept by systemd, not in the unit\n")
    args = ["schedule", "install", str(inventory), "--sign-key", str(run_keys.sign_key), "--unit-dir", str(units),
            "--env-file", str(env_file), "--every", "daily", "--at", "01:30", "--credential", f"router_pw:{credential}"]
    proc = cli(args, dict(os.environ), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "systemd-analyze verify: clean" in proc.stdout and "systemctl enable --now" in proc.stdout
    name = "evidence-kit-contoso-ltd"
    checked = _verify(units, name)
    assert checked.returncode == 0 and checked.stderr == ""
    assert (units / f"{name}.service").stat().st_mode & 0o777 == 0o644
    service = (units / f"{name}.service").read_text()
    assert f"LoadCredential=router_pw:{credential}" in service and "kept by systemd" not in service
    assert env_file.stat().st_mode & 0o777 == 0o600 and env_file.parent.stat().st_mode & 0o777 == 0o700
    assert [line for line in env_file.read_text().splitlines() if not line.startswith("#")] == [
        "FW_PW=", "HOOK_SECRET=", "HOOK_URL=", "ROUTER_PW="]
    again = cli(args, dict(os.environ), timeout=60)
    assert again.returncode == 2 and "already exists" in again.stderr
    env_file.write_text("ROUTER_PW=x\n")
    forced = cli([*args, "--force"], dict(os.environ), timeout=60)
    assert forced.returncode == 0 and "does not set FW_PW, HOOK_SECRET, HOOK_URL" in forced.stderr
    assert env_file.read_text() == "ROUTER_PW=x\n"  # an existing EnvironmentFile is never overwritten


@needs_systemd
def test_install_refuses_units_systemd_rejects(inventory: Path, run_keys: Keys, tmp_path: Path) -> None:
    units = tmp_path / "system"
    units.mkdir()
    proc = cli(["schedule", "install", str(inventory), "--sign-key", str(run_keys.sign_key), "--unit-dir",
                str(units), "--env-file", str(tmp_path / "x.env"), "--on-calendar", "every full moon"],
               dict(os.environ), timeout=60)
    assert proc.returncode == 2 and "systemd-analyze verify refused" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list(units.iterdir())  # nothing installed
