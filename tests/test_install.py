"""The README's set-up commands work as written, also where python3 refuses a system-wide pip
(Debian 12's /usr/bin/python3, PEP 668), and ``pipx install .`` gives a working tool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from evidence_kit.browser import find_browser
from evidence_kit.errors import BrowserNotFoundError
from tests.install_helpers import (
    DEBIAN_PATH,
    ROOT,
    check_demo,
    check_installed_tool,
    copy_checkout,
    run,
    user_env,
)

DEBIAN_PYTHON = Path("/usr/bin/python3")


def setup_commands() -> list[str]:
    """The commands of the README's "Set-up" section, as a reader copies them (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Set-up\b.*?$(.*?)^## ", text, re.S | re.M)
    assert section, "README.md has no '## Set-up' section"
    block = re.search(r"^```sh\n(.*?)^```", section.group(1), re.S | re.M)
    assert block, "README.md's Set-up section has no sh code block"
    commands = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.group(1).splitlines()]
    commands = [c for c in commands if c]
    assert len(commands) == 2, commands
    return commands


def _browser_available() -> bool:
    try:
        find_browser()
    except BrowserNotFoundError:
        return False
    return True


def test_ci_runs_the_readmes_test_command() -> None:
    """.ci/run calls exactly the README's second command, so CI runs what a reader runs."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert setup_commands()[1] in lines


@pytest.mark.slow
def test_readme_first_command_with_debians_python(tmp_path: Path) -> None:
    """The README's first command, word for word, in a copy of the checkout with a stock Debian
    PATH: python3 is /usr/bin/python3, which refuses a system-wide ``pip install`` (PEP 668)."""
    if not DEBIAN_PYTHON.is_file():
        pytest.skip("no /usr/bin/python3 (Debian's python3) on this machine")
    if subprocess.run([DEBIAN_PYTHON, "-c", "import ensurepip"], capture_output=True).returncode:
        pytest.skip("Debian's venv module is missing: apt-get install python3-venv (.ci/install does)")
    command = setup_commands()[0]
    checkout = copy_checkout(tmp_path / "evidence-kit")
    env = user_env(path=DEBIAN_PATH)
    assert shutil.which("python3", path=DEBIAN_PATH) == str(DEBIAN_PYTHON)

    done = run(["sh", "-c", command], cwd=checkout, env=env, timeout=600)
    assert done.returncode == 0, f"{command}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    check_demo(done.stdout, checkout, web=_browser_available())
    # Debian's python3 made the venv, and the package was installed into it, not linked to the checkout.
    venv = checkout / ".venv"
    assert "home = /usr/bin\n" in (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    (site,) = venv.glob("lib/python3*/site-packages")
    assert (site / "evidence_kit" / "cli" / "__init__.py").is_file()
    assert not list(site.glob("__editable__*"))


@pytest.mark.slow
def test_pipx_install(tmp_path: Path) -> None:
    """``pipx install .`` (pipx's own venv, non-editable) gives a tool that works outside the checkout."""
    pipx = shutil.which("pipx")
    if pipx is None:
        pytest.skip("pipx is not installed (apt-get install pipx; .ci/install does)")
    checkout = copy_checkout(tmp_path / "evidence-kit")
    env = user_env() | {"PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}
    done = run([pipx, "install", "."], cwd=checkout, env=env, timeout=600)
    assert done.returncode == 0, f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    shutil.rmtree(checkout)  # the installed tool must not need it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check_installed_tool(tmp_path / "bin" / "evidence-kit", elsewhere, env, web=False)
