"""The evidence writer: everything a web login leaves in the case besides the journal's steps.

Screenshots (every password input, every field a secret was typed into and the profile's
masks blacked out; stored as original + stamped copy by evidence_kit/case/screenshots.py),
the navigation record (documents, server address, the browser's and our TLS view), the
Playwright trace (scrubbed of every secret and scanned by trace_scrub.py, or dropped) and the
video. It owns the state that decides what a shot must hide and when the after-submit shot is
due (:class:`EvidenceState`), because it is the one that reads it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import evidence_kit.drivers.web.trace_scrub as trace_scrub  # the module: scrub_trace is looked up when used
from evidence_kit.browser import VideoSupport
from evidence_kit.case.journal import utc_now
from evidence_kit.case.screenshots import add_screenshot
from evidence_kit.drivers.web.probes import scope
from evidence_kit.drivers.web.state import TargetConfig, journal
from evidence_kit.drivers.web.tls import ServerCertificate

# Shots that end a stretch of the login: the after-submit shot, if still due, comes first.
CLOSING_SHOTS = ("success", "failure", "mfa-required", "manual-needed")


@dataclass(frozen=True)
class Navigation:
    """One main-frame document the browser loaded."""

    url: str
    status: int
    server: dict[str, Any] | None
    security: dict[str, Any] | None
    time: str


@dataclass
class EvidenceState:
    """What the writer has done so far and what its shots must hide."""

    seq: int = 0  # screenshots stored; numbers their files
    frames: set[str] = field(default_factory=set)  # iframes the login used: their password inputs are masked
    typed_into: list[tuple[str | None, str]] = field(default_factory=list)  # (frame, selector) holding a secret
    secret_typed: bool = False  # a secret went into the page (or into HTTP auth)
    # The shot after the submit that follows a typed secret: not yet due, due, taken (once).
    after_submit: Literal["not_due", "due", "taken"] = "not_due"
    responses: list[Any] = field(default_factory=list)  # main-frame document responses not yet recorded
    navigations: list[Navigation] = field(default_factory=list)


class EvidenceWriter:
    """Writes one target's screenshots, navigation record, trace and video into its session."""

    def __init__(self, config: TargetConfig, video: VideoSupport, cert: ServerCertificate) -> None:
        self.config = config
        self.video = video
        self.cert = cert
        self.state = EvidenceState()
        self.context: Any = None  # set by login.py as soon as the browser context exists
        self.page: Any = None  # set by login.py with the context's one page

    # --- what is watched --------------------------------------------------------------------

    def watch_frame(self, frame: str) -> None:
        self.state.frames.add(frame)

    def secret_typed_into(self, frame: str | None, selector: str) -> None:
        self.state.typed_into.append((frame, selector))

    def note_secret_typed(self) -> None:
        self.state.secret_typed = True

    def note_submit(self) -> None:
        """A click or key press: after a typed secret, the first one makes the after-submit shot due."""
        if self.state.secret_typed and self.state.after_submit == "not_due":
            self.state.after_submit = "due"

    def on_response(self, response: Any) -> None:
        try:
            if response.request.resource_type == "document" and response.frame == self.page.main_frame:
                self.state.responses.append(response)
        except Exception:  # noqa: S110 - a response of a closing page; nothing to record
            pass

    # --- screenshots ------------------------------------------------------------------------

    def masks(self, extra: list[str]) -> list[Any]:
        page = self.page
        out = [page.locator("input[type=password]")]
        out += [page.frame_locator(f).locator("input[type=password]") for f in sorted(self.state.frames)]
        out += [page.locator(s) for s in [*self.config.profile.masks, *extra]]
        out += [scope(page, f).locator(s) for f, s in self.state.typed_into]
        return out

    async def screenshot(self, label: str, full_page: bool = False, extra_masks: list[str] | None = None,
                         quiet: bool = False, retry: bool = True) -> bool:
        """Shoot, mask and store the page; ``quiet`` journals no failure (best-effort shots)."""
        if self.page is None:
            return False
        if label in CLOSING_SHOTS and self.state.after_submit == "due":
            await self.shoot_after_submit()
        session = self.config.session
        try:
            try:
                png = await self.page.screenshot(
                    full_page=full_page, mask=self.masks(extra_masks or []), animations="disabled",
                    timeout=10_000 if retry else 3_000,
                )
            except Exception as exc:
                if "context was destroyed" not in str(exc) or not retry:
                    raise
                # The page navigated under us (a login redirect): shoot the page it went to.
                await self.page.wait_for_load_state("domcontentloaded", timeout=5000)
                png = await self.page.screenshot(
                    full_page=full_page, mask=self.masks(extra_masks or []), animations="disabled", timeout=10_000,
                )
            url = session.redactor.redact_text(self.page.url)
        except Exception as exc:
            if not quiet:
                reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                await journal(session, "screenshot_failed", {"label": label, "reason": reason})
            return False
        self.state.seq += 1
        await asyncio.to_thread(add_screenshot, session, png, label, url, self.state.seq)
        return True

    async def shoot_after_submit(self) -> None:
        """Take the due after-submit shot if the page is stable now (waits.py calls it every poll:
        shooting during the navigation a submit starts only waits or fails)."""
        if self.state.after_submit != "due":
            return
        if await self.screenshot("after-submit", quiet=True, retry=False):
            self.state.after_submit = "taken"

    # --- navigation -------------------------------------------------------------------------

    async def record_navigation(self) -> None:
        page = self.page
        if page is None or page.is_closed():
            return
        session = self.config.session
        for resp in self.state.responses[-20:]:
            try:
                server = await resp.server_addr()
                security = await resp.security_details()
            except Exception:
                server, security = None, None
            self.state.navigations.append(Navigation(resp.url, resp.status, server, security, utc_now()))
        self.state.responses = []
        last = self.state.navigations[-1] if self.state.navigations else None
        try:
            title = await page.title()
        except Exception:
            title = ""
        tls = self.cert.info
        record: dict[str, Any] = {
            "final_url": page.url, "title": title,
            "status": last.status if last else None,
            "server": last.server if last else None,
            "tls": {
                "browser": last.security if last else None,
                "handshake": tls.record(),
                "browser_leaf_sha256": self.cert.browser_leaf,
            } if tls else None,
            "documents": [asdict(n) for n in self.state.navigations],
        }
        data = session.redactor.redact_obj(record)
        await asyncio.to_thread(
            session.add_artifact, "navigation.json", json.dumps(data, indent=2, sort_keys=True).encode(),
            "navigation", "application/json",
        )
        await journal(session, "navigation", {k: data[k] for k in ("final_url", "title", "status", "server")})
        session.set_identity(final_url=data["final_url"], title=title,
                             **({"server_ip": last.server.get("ipAddress"), "server_port": last.server.get("port")}
                                if last and last.server else {}))

    # --- trace and video --------------------------------------------------------------------

    async def wrap_up(self) -> None:
        """Trace (scrubbed) and video into the case; the context closed either way."""
        cfg = self.config
        if self.context is None:
            return
        if not self.state.navigations:
            try:
                await self.record_navigation()
            except Exception:  # noqa: S110 - best effort after a failure
                pass
        raw = cfg.work / "trace.raw.zip"
        trace_error = None if cfg.want_trace else "trace disabled for this run (web_trace: false)"
        try:
            if cfg.want_trace:
                await self.context.tracing.stop(path=str(raw))
        except Exception as exc:
            trace_error = f"trace not written: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        video_path = None
        try:
            video = self.page.video if self.page is not None else None
            await self.context.close()
            if video is not None:
                video_path = Path(await video.path())
        except Exception as exc:
            await journal(cfg.session, "video", {"recorded": False, "reason": f"{type(exc).__name__}"})
        if trace_error is None and raw.exists():
            await asyncio.to_thread(self.store_trace, raw)
        else:
            await journal(cfg.session, "trace_dropped", {"reason": trace_error or "no trace file"})
        if video_path is not None and video_path.exists() and video_path.stat().st_size:
            await asyncio.to_thread(self.store_file, video_path, "session.webm", "video", "video/webm")
        elif not cfg.want_video:
            await journal(cfg.session, "video", {"recorded": False,
                                                 "reason": "video disabled (profile or web_video: false)"})
        elif not self.video.available:
            await journal(cfg.session, "video", {"recorded": False, "reason": self.video.note})

    def store_trace(self, raw: Path) -> None:
        session = self.config.session
        clean = self.config.work / "trace.zip"
        try:
            # The session's secrets as they are now, TOTP codes learned during the login included.
            result = trace_scrub.scrub_trace(raw, clean, session.redaction_values())
        finally:
            raw.unlink(missing_ok=True)
        if result.kept:
            self.store_file(clean, "trace.zip", "trace", "application/zip", scrub=result.record())
            clean.unlink(missing_ok=True)
        else:
            session.event("trace_dropped", {"reason": result.reason, "scrub": result.record()})

    def store_file(self, path: Path, name: str, kind: str, media_type: str, **meta: Any) -> None:
        with self.config.session.artifact(name, kind, media_type, redact=False, **meta) as w, open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                w.write(block)
