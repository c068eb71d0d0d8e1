"""The wheel a user builds holds the whole package, and installed from it (not editable) into a
fresh venv, evidence-kit works from a folder outside the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.install_helpers import check_installed_tool, copy_checkout, run, user_env


@dataclass(frozen=True)
class Built:
    wheel: Path
    package_files: frozenset[str]  # the package's files in the copy it was built from


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """A wheel built as a user builds one: pip's isolated build env, from a clean copy of the checkout.

    The copy is removed before the wheel is used, so nothing installed from it can read the checkout.
    """
    base = tmp_path_factory.mktemp("wheel")
    source = copy_checkout(base / "source")
    package_files = frozenset(p.relative_to(source).as_posix() for p in (source / "evidence_kit").rglob("*")
                              if p.is_file() and "__pycache__" not in p.parts)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-4000:]
    shutil.rmtree(source)
    (found,) = (base / "dist").glob("evidence_kit-*.whl")
    yield Built(found, package_files)


def test_wheel_holds_every_file_of_the_package(built: Built) -> None:
    """Every module and data file of evidence_kit/ (cli, profiles and their built-in YAML, report
    templates, demo) is in the wheel: a new sub-package or data folder cannot be left out."""
    wheel = built.wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    assert built.package_files - names == set()
    for needed in ("evidence_kit/cli/__init__.py", "evidence_kit/profiles/builtin/cisco_ios.yaml",
                   "evidence_kit/report/templates/report.html.j2", "evidence_kit/demo/__init__.py"):
        assert needed in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "evidence-kit = evidence_kit.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_works_outside_the_checkout(built: Built, tmp_path: Path) -> None:
    env = user_env()
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    installed = run([venv / "bin" / "python", "-m", "pip", "install", "-q", built.wheel], cwd=tmp_path, env=env,
                    timeout=600)
    assert installed.returncode == 0, installed.stderr[-4000:]
    where = run([venv / "bin" / "python", "-c", "import evidence_kit; print(evidence_kit.__file__)"],
                cwd=tmp_path, env=env, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not editable, not the checkout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check_installed_tool(venv / "bin" / "evidence-kit", elsewhere, env, web=False)
