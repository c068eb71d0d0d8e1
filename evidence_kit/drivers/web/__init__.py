"""Web capture: log into a web admin page with Playwright (Chromium) and journal the proof."""

from evidence_kit.drivers.web.driver import WebDriver, totp_now

__all__ = ["WebDriver", "totp_now"]
