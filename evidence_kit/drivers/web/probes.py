"""Page probes: pure reads of the page (does a condition hold, which failure marker shows,
what does the page say about it).

Nothing here waits, writes evidence or ends the target, so the waits (waits.py) and the
privilege check (login.py) can poll these as often as they like. A read that fails because
the page is navigating ("execution context was destroyed") counts as "does not hold"; only a
page that is really gone is raised, so the login ends instead of polling a dead page.
"""

from __future__ import annotations

import re
from typing import Any

from evidence_kit.profiles.web import Condition, Marker, WebProfile

CLOSED = re.compile(r"(?i)(has been closed|browser.*(closed|disconnected)|crash|Connection closed)")

# The visible text of the page (None) and of each frame, read at most once per poll.
TextCache = dict[str | None, str]

BODY_TEXT = "() => document.body ? document.body.innerText : ''"


def scope(page: Any, frame: str | None) -> Any:
    """Where a selector is looked up: the page, or the iframe ``frame`` names."""
    return page.frame_locator(frame) if frame else page


class PageProbes:
    """Reads of one target's page against its profile's conditions and markers."""

    def __init__(self, page: Any, profile: WebProfile) -> None:
        self.page = page
        self.profile = profile

    def scope(self, frame: str | None) -> Any:
        return scope(self.page, frame)

    async def holds(self, cond: Condition, cache: TextCache) -> bool:
        page = self.page
        try:
            if cond.url and not re.search(cond.url, page.url):
                return False
            if cond.title and not re.search(cond.title, await page.title()):
                return False
            if cond.selector:
                loc = self.scope(cond.frame).locator(cond.selector).first
                if cond.state == "visible":
                    if not await loc.is_visible():
                        return False
                elif await loc.count() == 0:
                    return False
            if cond.text:
                if cond.frame not in cache:
                    if cond.frame:
                        body = page.frame_locator(cond.frame).locator("body")
                        cache[cond.frame] = await body.inner_text(timeout=500) if await body.count() else ""
                    else:
                        cache[None] = await page.evaluate(BODY_TEXT)
                if not re.search(cond.text, cache[cond.frame]):
                    return False
            return True
        except Exception as exc:
            if CLOSED.search(str(exc)) and page.is_closed():
                raise
            return False  # mid-navigation: "execution context was destroyed" and the like

    async def failure_marker(self, cache: TextCache) -> Marker | None:
        """The first of the profile's failure markers the page shows, if any."""
        for marker in self.profile.failure:
            if await self.holds(marker, cache):
                return marker
        return None

    async def any_of(self, conds: list[Condition], cache: TextCache) -> Condition | None:
        for cond in conds:
            if await self.holds(cond, cache):
                return cond
        return None

    async def marker_text(self, marker: Marker) -> str:
        """What the page says where ``marker`` matched ("Wrong user name or password"), for the detail."""
        try:
            if marker.selector:
                loc = self.scope(marker.frame).locator(marker.selector).first
                return " ".join((await loc.inner_text(timeout=1000)).split())[:300]
            if marker.text:
                body = await self.page.evaluate(BODY_TEXT)
                m = re.search(marker.text, body)
                return m.group(0)[:300] if m else ""
        except Exception:  # noqa: S110 - the text is a courtesy; the screenshot has it anyway
            pass
        return ""
