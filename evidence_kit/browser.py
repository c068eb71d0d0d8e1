"""Finding and launching Chromium for Playwright (web capture, and PDF rendering of reports).

Order of choice: an explicit path (``--browser`` / ``RunOptions.browser_path``), the
``EVIDENCE_KIT_BROWSER`` environment variable, a Playwright-managed Chromium (``playwright
install chromium``), then the system's Chromium or Chrome. ``playwright install`` needs the
internet, so closed networks and CI use Debian's ``chromium`` through ``executable_path``.

Small API:

    choice = find_browser(explicit)            # BrowserChoice, or BrowserNotFoundError (exit 2)
    args = launch_args(headless=True)          # flags for a closed network
    with sync_browser(explicit) as browser:    # sync Playwright Browser, e.g. for page.pdf()
        ...
    video = prepare_video_support()            # VideoSupport: env for Playwright's ffmpeg, or why not
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.errors import BrowserNotFoundError

BROWSER_ENV = "EVIDENCE_KIT_BROWSER"

# Debian's /usr/lib/chromium/chromium skips the /usr/bin wrapper script (and its noise).
SYSTEM_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/snap/bin/chromium",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/opt/google/chrome/chrome",
)
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# A capture host may sit on a closed network: nothing should phone home or update itself.
CLOSED_NETWORK_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--password-store=basic",
)

HOW_TO_GET_ONE = (
    "install Chromium (Debian/Ubuntu: 'apt-get install chromium'), or run 'playwright install chromium', "
    f"or point --browser / {BROWSER_ENV} at a Chromium or Chrome executable"
)


@dataclass(frozen=True)
class BrowserChoice:
    executable: str
    source: str  # "option", "env", "playwright" or "system"

    def describe(self) -> str:
        return f"{self.executable} ({self.source})"


def _usable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def playwright_package_dir() -> Path | None:
    try:
        import playwright  # only to locate its files: cheap
    except ImportError:
        return None
    return Path(playwright.__file__).parent


def playwright_revisions() -> dict[str, str]:
    """Browser name -> revision Playwright expects (from its driver's browsers.json)."""
    pkg = playwright_package_dir()
    if pkg is None:
        return {}
    try:
        data = json.loads((pkg / "driver" / "package" / "browsers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {b["name"]: str(b["revision"]) for b in data.get("browsers", []) if "name" in b and "revision" in b}


def playwright_browsers_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    value = env.get("PLAYWRIGHT_BROWSERS_PATH")
    if value and value != "0":
        return Path(value)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ms-playwright"


def managed_chromium(environ: Mapping[str, str] | None = None) -> str | None:
    """The Playwright-managed Chromium (full or headless shell) if one is installed."""
    revs = playwright_revisions()
    root = playwright_browsers_path(environ)
    patterns = []
    if "chromium" in revs:
        patterns += [f"chromium-{revs['chromium']}/chrome-linux*/chrome"]
    if "chromium-headless-shell" in revs:
        rev = revs["chromium-headless-shell"]
        patterns += [
            f"chromium_headless_shell-{rev}/chrome-*/chrome-headless-shell",
            f"chromium_headless_shell-{rev}/chrome-*/headless_shell",
        ]
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if _usable(str(path)):
                return str(path)
    return None


def system_chromium() -> str | None:
    for path in SYSTEM_CANDIDATES:
        if _usable(path):
            return path
    for name in SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def find_browser(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> BrowserChoice:
    """Pick the Chromium to drive, or raise :class:`BrowserNotFoundError` saying how to get one."""
    env = os.environ if environ is None else environ
    for value, source in ((explicit, "option"), (env.get(BROWSER_ENV), "env")):
        if value:
            path = shutil.which(value) or value
            if not _usable(path):
                where = "--browser" if source == "option" else BROWSER_ENV
                raise BrowserNotFoundError(f"{where}: {value} is not an executable file; {HOW_TO_GET_ONE}")
            return BrowserChoice(path, source)
    managed = managed_chromium(env)
    if managed:
        return BrowserChoice(managed, "playwright")
    system = system_chromium()
    if system:
        return BrowserChoice(system, "system")
    raise BrowserNotFoundError(f"no Chromium browser found; {HOW_TO_GET_ONE}")


def launch_args(headless: bool = True) -> list[str]:
    args = list(CLOSED_NETWORK_ARGS)
    # Root (CI, containers) cannot use Chromium's sandbox; /dev/shm is often tiny in containers.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    args += ["--disable-dev-shm-usage"]
    if headless:
        args.append("--disable-gpu")
    return args


def launch_kwargs(choice: BrowserChoice, headless: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``playwright.chromium.launch`` (sync or async API)."""
    return {
        "executable_path": choice.executable,
        "headless": headless,
        "args": launch_args(headless),
        # Playwright's own defaults add --enable-automation etc.; keep them, they are harmless.
        "handle_sigint": False,
        "handle_sigterm": False,
        "handle_sighup": False,
    }


@dataclass(frozen=True)
class VideoSupport:
    """How Playwright can record video here: ``browsers_path`` to set in its environment
    (None: leave it as is), or ``available`` False and ``note`` saying why not."""

    available: bool
    browsers_path: str | None
    ffmpeg: str | None
    note: str


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evidence-kit"


def prepare_video_support(environ: Mapping[str, str] | None = None) -> VideoSupport:
    """Make Playwright's video recording work with its own ffmpeg, or with the system's.

    Playwright looks for ``$PLAYWRIGHT_BROWSERS_PATH/ffmpeg-<rev>/ffmpeg-linux``. When that is
    missing and a system ``ffmpeg`` exists, we build a browsers folder of our own (in our cache
    folder, never a system path) holding a link to the system ffmpeg and links to whatever the
    real browsers folder holds, and point Playwright at it.
    """
    env = os.environ if environ is None else environ
    rev = playwright_revisions().get("ffmpeg")
    if rev is None:
        return VideoSupport(False, None, None, "Playwright's browsers.json names no ffmpeg revision")
    real_root = playwright_browsers_path(env)
    own = real_root / f"ffmpeg-{rev}" / "ffmpeg-linux"
    if _usable(str(own)):
        return VideoSupport(True, None, str(own), "Playwright's own ffmpeg")
    system = shutil.which("ffmpeg")
    if not system:
        return VideoSupport(
            False, None, None,
            f"no video: Playwright's ffmpeg ({own}) is missing and no system ffmpeg is installed",
        )
    overlay = cache_dir() / "playwright-browsers"
    with _overlay_lock:
        try:
            link = overlay / f"ffmpeg-{rev}" / "ffmpeg-linux"
            link.parent.mkdir(parents=True, exist_ok=True)
            if not (link.is_symlink() and os.readlink(link) == system):
                tmp = link.with_name(f".ffmpeg-linux.{os.getpid()}.{threading.get_ident()}")
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(system)
                os.replace(tmp, link)
            # Keep any browsers Playwright installed visible through the overlay.
            if real_root.is_dir():
                for entry in real_root.iterdir():
                    mirror = overlay / entry.name
                    if not mirror.exists() and not mirror.is_symlink():
                        mirror.symlink_to(entry)
        except OSError as exc:
            return VideoSupport(False, None, None, f"no video: cannot prepare {overlay}: {exc.strerror or exc}")
    return VideoSupport(True, str(overlay), system, f"system ffmpeg {system} through {overlay}")


_overlay_lock = threading.Lock()
_env_lock = threading.Lock()


@contextmanager
def driver_environment(extra: dict[str, str]) -> Iterator[None]:
    """Set environment variables while Playwright starts its driver process (it copies
    ``os.environ`` then), and put them back afterwards."""
    with _env_lock:
        saved = {k: os.environ.get(k) for k in extra}
        os.environ.update(extra)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@contextmanager
def sync_browser(explicit: str | None = None, headless: bool = True) -> Iterator[Any]:
    """A launched sync-API Browser (for PDF rendering and other one-off jobs); closed on exit.

    Must not be called from a thread that runs an asyncio loop (Playwright's sync API rule).
    """
    choice = find_browser(explicit)
    from playwright.sync_api import sync_playwright  # lazy: heavy

    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_kwargs(choice, headless))
        try:
            yield browser
        finally:
            browser.close()
