"""Fixtures for the import tests: the CLI, run in-process with stdout and stderr apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from evidence_kit.cli import cli


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)

    return run
