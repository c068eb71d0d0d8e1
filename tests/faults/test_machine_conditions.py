"""The machine's conditions in their own words: a read-only file system and permission denied on the
case folder (new and existing), besides the disk full of test_disk_full.py. Each time ``capture``
prints one line with the condition and the path, exits 2, never says "internal error"; an existing
case is left as it was (it still seals and verifies), and once the condition is fixed capture works.

Root ignores mode bits: the permission cases run the CLI as root without CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH (``setpriv``), so a folder mode 0500 refuses it as it refuses any user.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidence_kit.demo.ssh_device import DemoDevice
from tests.faults.conftest import demo_env, demo_inventory
from tests.faults.faultkit import cli_env, needs_root, one_line, remount, run_capture, tmpfs, two_states
from tests.seal.helpers import Keyset

NO_OVERRIDE = ("setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search")


def capture(inventory: Path, case: Path, env: dict[str, str], as_user: bool = False,
            ) -> subprocess.CompletedProcess[str]:
    argv = [*(NO_OVERRIDE if as_user else ()), sys.executable, "-m", "evidence_kit", "capture", str(inventory),
            "--case", str(case)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=cli_env(**env))


def fingerprint(case: Path) -> dict[str, str]:
    return {str(p.relative_to(case)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(case.rglob("*"))}


def refused(done: subprocess.CompletedProcess[str], start: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    line = one_line(done.stderr)  # one line, no traceback, never "internal error"
    assert line.startswith(start), line
    return line


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, device: DemoDevice) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("machine")
    inventory = demo_inventory(folder, device)
    assert run_capture(inventory, folder / "case", demo_env(device)).ok
    return inventory, folder / "case"


def test_read_only_file_system(template: tuple[Path, Path], device: DemoDevice, keyset: Keyset,
                               tmp_path: Path) -> None:
    inventory, source = template
    env = demo_env(device)
    with tmpfs(tmp_path / "ro", "4m") as ro:
        subprocess.run(["cp", "-a", str(source), str(ro / "case")], check=True)
        remount(ro, "4m,ro")
        new = refused(capture(inventory, ro / "new", env), f"error: {ro / 'new'}: read-only file system while "
                      "opening the case folder")
        assert "choose a folder you can write to" in new
        before = fingerprint(ro / "case")
        line = refused(capture(inventory, ro / "case", env),
                       f"error: {ro / 'case'}/journal.jsonl: read-only file system while reopening the case")
        assert "then run capture again" in line
        assert fingerprint(ro / "case") == before
        assert two_states(ro / "case", keyset, tmp_path / "checks").state == "usable"
        remount(ro, "4m,rw")
        done = capture(inventory, ro / "case", env)
        assert done.returncode == 0, done.stderr
        assert two_states(ro / "case", keyset, tmp_path / "checks").state == "usable"


@pytest.mark.parametrize("where", ["new case in a folder 0500", "artifacts folder 0500", "journal 0444",
                                   "case folder 0000"])
def test_permission_denied(where: str, template: tuple[Path, Path], device: DemoDevice, keyset: Keyset,
                           tmp_path: Path) -> None:
    needs_root()
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE")
    inventory, source = template
    env = demo_env(device)
    case = tmp_path / "locked" / "case"
    case.parent.mkdir()
    if where.startswith("new"):
        locked, mode = case.parent, 0o500
        start = f"error: {case}: permission denied while opening the case folder"
    else:
        subprocess.run(["cp", "-a", str(source), str(case)], check=True)
        locked, mode = {"artifacts folder 0500": (case / "artifacts" / "rtr", 0o500),
                        "journal 0444": (case / "journal.jsonl", 0o444),
                        "case folder 0000": (case, 0o000)}[where]
        start = {
            "artifacts folder 0500": f"error: {case}/artifacts/rtr/run002/host_key.pub: permission denied while "
                                "creating artifact host_key.pub",
            "journal 0444": f"error: {case}/journal.jsonl: permission denied while reopening the case",
            "case folder 0000": f"error: {case}: permission denied while opening the case folder",
        }[where]
    before = fingerprint(case) if case.exists() else None
    locked.chmod(mode)
    try:
        refused(capture(inventory, case, env, as_user=True), start)
    finally:
        locked.chmod(0o755 if locked.is_dir() else 0o644)
    if before is not None:
        after = fingerprint(case)
        if where == "artifacts folder 0500":  # the journal took the run's entries, up to the refusal
            assert {k: v for k, v in after.items() if k != "journal.jsonl"} == {
                k: v for k, v in before.items() if k != "journal.jsonl"}
        else:
            assert after == before
        assert two_states(case, keyset, tmp_path / "checks").state == "usable"
    done = capture(inventory, case, env, as_user=True)  # fixed: the same user captures
    assert done.returncode == 0, done.stderr
    assert two_states(case, keyset, tmp_path / "checks").state == "usable"


def test_run_refuses_an_archive_folder_it_cannot_write_before_capturing(
        template: tuple[Path, Path], device: DemoDevice, keyset: Keyset, tmp_path: Path) -> None:
    inventory, _ = template
    with tmpfs(tmp_path / "ro", "1m") as ro:
        remount(ro, "1m,ro")
        argv = [sys.executable, "-m", "evidence_kit", "run", str(inventory), "--case", str(tmp_path / "case"),
                "--sign-key", str(keyset.sign_key), "-r", keyset.recipient, "--archive-dir", str(ro / "archives")]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=cli_env(**demo_env(device)))
        line = refused(done, f"error: {ro / 'archives'}: read-only file system while preparing the archive folder")
        assert "nothing was captured" in line
        assert not (tmp_path / "case").exists()
