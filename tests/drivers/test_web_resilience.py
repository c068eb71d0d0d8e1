"""Failures are evidence: a browser crash mid-target, unreachable hosts, a trace that fails its scrub."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import RunOptions
from tests.drivers.web_support import dump, entries, result, run_web
from tests.helpers import assert_no_secrets, free_port
from tests.servers.portals import ADMIN

pytestmark = pytest.mark.slow

HOLD_PROFILE = """name: hold_web
kind: web
description: test profile whose page never finishes loading until the test says so
steps:
  - {action: goto, url: "{url}", timeout: 60}
success:
  - {text: "held"}
"""


def _ancestors(pid: int) -> list[int]:
    out = []
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        out.append(pid)
    return out


def our_browser_pids() -> list[int]:
    """Main Chromium processes started (through Playwright's driver) by this test process."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        # Playwright talks to the main browser process over a pipe; helpers carry --type=.
        if b"--remote-debugging-pipe" in argv and not any(a.startswith(b"--type=") for a in argv):
            if me in _ancestors(int(entry)):
                found.append(int(entry))
    return found


def test_browser_crash_mid_target_ends_it_as_error_and_the_rest_go_on(portals: Any, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "hold_web.yaml").write_text(HOLD_PROFILE)
    ok = {"profile": "mikrotik_webfig", "url": portals.url("mikrotik"), "username": ADMIN, "password": "env:PW"}
    targets = [
        {"name": "before", **ok},
        {"name": "crashes", "profile": "hold_web", "url": f"{portals.base}/hold"},
        {"name": "after-1", **ok},
        {"name": "after-2", **ok},
    ]
    portals.held.clear()
    portals.release.clear()
    box: dict[str, Any] = {}

    def run() -> None:
        box["report"] = run_web(tmp_path, targets, {"PW": portals.password}, RunOptions(concurrency=1),
                                profile_dirs=[profiles])

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert portals.held.wait(60), "the hold page was never requested"
        pids = our_browser_pids()
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)  # the browser this test's capture started
    finally:
        portals.release.set()
        worker.join(120)
    report, root = box["report"], tmp_path / "case"
    assert result(report, "before").outcome is Outcome.LOGIN_OK
    crashed = result(report, "crashes")
    assert crashed.outcome is Outcome.ERROR, dump(root, "crashes")
    assert "browser" in crashed.detail.lower()
    assert entries(root, "crashes", "trace_dropped")  # the journal says why there is no trace
    for name in ("after-1", "after-2"):
        assert result(report, name).outcome is Outcome.LOGIN_OK, dump(root, name)
    assert entries(root, "after-1", "browser")[0]["data"]["launch"] == 2  # relaunched once
    assert_no_secrets(root, [portals.password])


def test_unreachable_http_and_https(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    targets = [
        {"name": "http-closed", "profile": "pfsense_web", "url": f"http://127.0.0.1:{port}/", "username": "a",
         "password": "env:PW"},
        {"name": "https-closed", "profile": "pfsense_web", "url": f"https://127.0.0.1:{port}/",
         "username": "a", "password": "env:PW"},
    ]
    report = run_web(tmp_path, targets, {"PW": "Unused-pw-123"})
    for name in ("http-closed", "https-closed"):
        r = result(report, name)
        assert r.outcome is Outcome.UNREACHABLE, dump(tmp_path / "case", name)
    assert_no_secrets(tmp_path / "case", ["Unused-pw-123"])


def test_trace_that_fails_its_scrub_is_dropped_and_journaled(
    portals: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A scrub that cannot clean a trace is not something a real server can trigger on demand:
    # force the scanner's verdict and check the driver's handling.
    import evidence_kit.drivers.web.trace_scrub as ts

    def failing(src: Path, dest: Path, secrets: Any) -> ts.ScrubResult:
        return ts.ScrubResult(kept=False, reason="secret still present after scrub; trace dropped",
                              findings=["trace.zip!trace.trace: secret found (raw)"])

    monkeypatch.setattr(ts, "scrub_trace", failing)
    targets = [{"name": "mt", "profile": "mikrotik_webfig", "url": portals.url("mikrotik"), "username": ADMIN,
                "password": "env:PW"}]
    report = run_web(tmp_path, targets, {"PW": portals.password})
    root = tmp_path / "case"
    assert result(report, "mt").outcome is Outcome.LOGIN_OK
    dropped = entries(root, "mt", "trace_dropped")
    assert dropped and "still present" in dropped[0]["data"]["reason"]
    assert not list(root.rglob("trace*.zip"))
    assert_no_secrets(root, [portals.password])
