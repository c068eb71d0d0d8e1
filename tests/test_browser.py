"""Finding Chromium: option, environment variable, Playwright-managed, system; clear error otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evidence_kit.browser import BROWSER_ENV, find_browser, launch_args, prepare_video_support, sync_browser
from evidence_kit.errors import EXIT_USAGE, BrowserNotFoundError


def test_explicit_option_wins(tmp_path: Path) -> None:
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    choice = find_browser(str(fake), environ={BROWSER_ENV: "/nonexistent"})
    assert choice.executable == str(fake) and choice.source == "option"


def test_environment_variable(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_browser(None, environ={BROWSER_ENV: str(fake)}).source == "env"


def test_bad_path_is_a_usage_error_that_says_how_to_get_a_browser() -> None:
    with pytest.raises(BrowserNotFoundError) as err:
        find_browser("/nonexistent/chromium")
    assert err.value.exit_code == EXIT_USAGE
    assert "apt-get install chromium" in err.value.one_line() and "--browser" in err.value.one_line()


def test_nothing_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import evidence_kit.browser as b

    monkeypatch.setattr(b, "SYSTEM_CANDIDATES", ())
    monkeypatch.setattr(b, "SYSTEM_NAMES", ())
    with pytest.raises(BrowserNotFoundError, match="no Chromium browser found"):
        find_browser(None, environ={"PLAYWRIGHT_BROWSERS_PATH": str(tmp_path)})


def test_system_chromium_found_here() -> None:
    choice = find_browser(None, environ={"PLAYWRIGHT_BROWSERS_PATH": "/nonexistent"})
    assert os.access(choice.executable, os.X_OK) and choice.source in ("system", "playwright")


def test_closed_network_flags() -> None:
    args = launch_args(headless=True)
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-sync"):
        assert flag in args


def test_video_support_uses_a_folder_we_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    support = prepare_video_support({"PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "pw")})
    if support.available and support.browsers_path:
        assert support.browsers_path.startswith(str(tmp_path / "cache"))
        link = next(Path(support.browsers_path).glob("ffmpeg-*/ffmpeg-linux"))
        assert link.is_symlink() and os.readlink(link) == support.ffmpeg
    else:
        assert support.note  # says why there is no video


def test_sync_browser_renders_a_pdf(tmp_path: Path) -> None:
    with sync_browser() as browser:
        page = browser.new_page()
        page.set_content("<h1>report</h1>")
        pdf = page.pdf()
    assert pdf.startswith(b"%PDF")
