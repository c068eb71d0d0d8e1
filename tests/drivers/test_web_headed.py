"""--headed: a visible browser (on a virtual X display here) with the technician's pause."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import RunOptions
from tests.drivers.web_support import dump, entries, result, run_web
from tests.helpers import assert_no_secrets
from tests.servers.portals import PRODUCTS, PUSH_USER

pytestmark = pytest.mark.slow


@pytest.fixture
def x_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb is not installed (apt-get install xvfb): no display for a headed browser")
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                break
            time.sleep(0.05)
        monkeypatch.setenv("DISPLAY", f":{number}")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_headed_browser_pauses_for_push_approval(x_display: str, portals: Any, tmp_path: Path) -> None:
    asked: list[str] = []

    def pause(message: str) -> None:
        asked.append(message)
        assert os.environ["DISPLAY"] == x_display
        portals.approve_pushes()

    targets = [{"name": "m365-headed", "profile": PRODUCTS["m365"].profile, "url": portals.url("m365"),
                "username": PUSH_USER, "password": "env:PW"}]
    report = run_web(tmp_path, targets, {"PW": portals.password},
                     RunOptions(concurrency=1, headed=True, pause=pause))
    root = tmp_path / "case"
    r = result(report, "m365-headed")
    assert r.outcome is Outcome.LOGIN_OK, dump(root, "m365-headed")
    assert entries(root, "m365-headed", "browser")[0]["data"]["headless"] is False
    assert len(asked) == 1
    assert_no_secrets(root, [portals.password])


def test_pause_callback_without_headed_never_blocks_an_unattended_run(portals: Any, tmp_path: Path) -> None:
    def pause(message: str) -> None:  # pragma: no cover - must not be called
        raise AssertionError("paused without --headed")

    targets = [{"name": "m365-cron", "profile": PRODUCTS["m365"].profile, "url": portals.url("m365"),
                "username": PUSH_USER, "password": "env:PW"}]
    report = run_web(tmp_path, targets, {"PW": portals.password}, RunOptions(concurrency=1, pause=pause))
    assert result(report, "m365-cron").outcome is Outcome.MFA_REQUIRED
