"""Installing evidence-kit the way a user does, for tests/test_packaging.py and tests/test_install.py.

A user has a clone of the repository, not this working tree: the builds and installs here start
from a clean copy of the checkout (what git tracks plus new files it does not ignore), so stale
``build/`` or ``*.egg-info`` folders here cannot leak into a wheel and nothing is written into the
working tree. Dependencies come from the package registries pip is configured with (its cache
makes a re-run fast); the installed tool itself must then need nothing from the network or the
checkout, so the demo runs in a network namespace with only loopback when the test may make one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = ROOT / "evidence_kit" / "profiles" / "builtin"
# A stock Debian 12 root shell's PATH: no pyenv shims, so python3 is /usr/bin/python3.
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Folders a checkout may hold that a clone would not (used only when git cannot list the files).
_NOT_IN_A_CLONE = (".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", ".hypothesis",
                   ".benchmarks", "evidence-kit-demo", "cases")
# Variables that would point a command at this test run's interpreter, venv or profiles.
_NOT_A_USERS = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYENV_VERSION", "EVIDENCE_KIT_PROFILES")


def checkout_files() -> list[str] | None:
    """Paths (relative to the checkout) git tracks or would track; None when git cannot say."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                             capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # A tracked file deleted in the working tree is listed too: a clone of this tree would lack it.
    return [name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def copy_checkout(dest: Path) -> Path:
    """A clean copy of the checkout at ``dest`` (which must not exist yet)."""
    names = checkout_files()
    if names is None:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*_NOT_IN_A_CLONE))
        return dest
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return dest


def user_env(path: str | None = None) -> dict[str, str]:
    """This environment as a user's shell would have it: no active venv, optionally another PATH.

    The PIP_* variables stay: they name the package mirrors pip installs from on this machine.
    """
    env = {k: v for k, v in os.environ.items() if k not in _NOT_A_USERS}
    if path is not None:
        env["PATH"] = path
    return env


def run(cmd: Sequence[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = 300
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _can_isolate_network() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30).returncode == 0


def offline(cmd: Sequence[str | Path]) -> list[str]:
    """``cmd`` run inside a new network namespace holding only loopback (when root may make one):
    the demo's targets are on 127.0.0.1, so anything it needs from elsewhere fails loudly."""
    argv = [str(c) for c in cmd]
    if not _can_isolate_network():
        return argv
    return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv]


def builtin_profile_names() -> set[str]:
    """The names the checkout's built-in profile files declare."""
    names = set()
    for path in BUILTIN.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names.add(str(data["name"]))
    return names


def check_installed_tool(exe: Path, cwd: Path, env: dict[str, str], *, web: bool) -> None:
    """What a new user runs first: ``--help``, ``profiles list`` and ``demo``, from ``cwd``."""

    def show(proc: subprocess.CompletedProcess[str]) -> str:
        return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"

    shown = run([exe, "--help"], cwd=cwd, env=env, timeout=60)
    assert shown.returncode == 0, show(shown)
    for command in ("capture", "run", "seal", "verify", "extract", "report", "keys", "profiles", "demo"):
        assert f"  {command} " in shown.stdout, f"--help lacks {command}:\n{shown.stdout}"

    listed = run([exe, "profiles", "list"], cwd=cwd, env=env, timeout=60)
    assert listed.returncode == 0, show(listed)
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert names == builtin_profile_names(), show(listed)

    demo = run(offline([exe, "demo", *([] if web else ["--no-web"])]), cwd=cwd, env=env, timeout=300)
    assert demo.returncode == 0, show(demo)
    assert "Traceback" not in demo.stderr, show(demo)
    check_demo(demo.stdout, cwd, web=web)


def check_demo(stdout: str, cwd: Path, *, web: bool) -> None:
    """The demo (run in ``cwd``) captured, sealed, verified and reported; the web part ran if ``web``."""
    assert "demo-router: login_ok" in stdout, stdout
    assert "demo-router-wrong-password: auth_failed" in stdout, stdout
    assert "verification: ALL CHECKS PASSED" in stdout, stdout
    (folder,) = (cwd / "evidence-kit-demo").iterdir()
    assert (folder / "report.html").is_file()
    assert len(list(folder.glob("*.age"))) == 1
    if web:
        assert "demo-portal: login_ok" in stdout, stdout
        assert "demo-portal-wrong-password: auth_failed" in stdout, stdout
        assert (folder / "report.pdf").is_file()
    else:
        assert "demo-portal" not in stdout, stdout
