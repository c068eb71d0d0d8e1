"""Screenshots into a case: the original PNG and a stamped copy, both journaled.

Every driver that shows a screen (the web driver, a remote desktop) stores its screenshots
through :func:`add_screenshot`, so the two files, their names and their journal fields are
the same whoever took them, and the report (evidence_kit/report/screenshots.py) pairs them one
way. The original PNG stays untouched (and hashed); the stamped copy is derived from it with a
band burned below it (who/what/when) and names the original's SHA-256 prefix, so a reader can
tie the two together without our tool.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from evidence_kit.case.artifacts import ArtifactRecord
from evidence_kit.case.journal import utc_now

if TYPE_CHECKING:
    from evidence_kit.case.session import TargetSession

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
)
FONT_SIZE = 14
PAD = 6


@dataclass(frozen=True)
class StampInfo:
    utc: str
    case_id: str
    target: str
    url: str
    seq: int
    original_sha256: str

    def lines(self) -> list[str]:
        return [
            f"{self.utc}  case {self.case_id}  target {self.target}  #{self.seq}",
            f"{self.url}",
            f"original sha256 {self.original_sha256[:16]}...  (evidence-kit stamped copy)",
        ]


@lru_cache(maxsize=1)
def _font() -> Any:
    from PIL import ImageFont  # lazy

    for path in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(path, FONT_SIZE)
        except OSError:
            continue
    return ImageFont.load_default(size=FONT_SIZE)


def _fit(draw: Any, text: str, font: Any, width: int) -> str:
    """Cut ``text`` with an ellipsis so it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if draw.textlength(text[:mid] + "...", font=font) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "..."


def stamp_png(png: bytes, info: StampInfo) -> bytes:
    """Return a new PNG: the original image with a band of text added below it."""
    from PIL import Image, ImageDraw  # lazy

    with Image.open(io.BytesIO(png)) as src:
        src.load()
        image = src.convert("RGB")
    font = _font()
    lines = info.lines()
    ascent, descent = font.getmetrics()
    line_h = ascent + descent + 2
    band_h = PAD * 2 + line_h * len(lines)
    out = Image.new("RGB", (image.width, image.height + band_h), (20, 20, 20))
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    draw.line([(0, image.height), (image.width, image.height)], fill=(230, 180, 0), width=2)
    y = image.height + PAD
    for text in lines:
        draw.text((PAD, y), _fit(draw, text, font, image.width - 2 * PAD), font=font, fill=(255, 255, 255))
        y += line_h
    buf = io.BytesIO()
    out.save(buf, format="PNG", optimize=False, compress_level=1)  # fast: the copy is derived
    return buf.getvalue()


@dataclass(frozen=True)
class ScreenshotRecords:
    """The two artifacts one screenshot became: the original and its stamped copy."""

    original: ArtifactRecord
    stamped: ArtifactRecord


def add_screenshot(session: TargetSession, png: bytes, label: str, where: str, seq: int) -> ScreenshotRecords:
    """Store ``png`` as screenshot ``seq`` of ``session``: ``NN-label.png`` and its stamped copy.

    ``where`` is what the screen showed (a URL, a host:port) as the journal and the stamp name
    it; the caller redacts it. Blocking (Pillow, fsync): async callers run it in a thread.
    """
    name = f"{seq:02d}-{label}"
    taken = utc_now()
    original = session.add_artifact(
        f"{name}.png", png, "screenshot", "image/png", False, label=label, url=where, seq=seq, taken=taken,
    )
    stamped_png = stamp_png(png, StampInfo(taken, session.case.case_id, session.name, where, seq, original.sha256))
    stamped = session.add_artifact(
        f"{name}.stamped.png", stamped_png, "screenshot_stamped", "image/png", False,
        original_sha256=original.sha256, original=original.path, label=label, seq=seq,
    )
    return ScreenshotRecords(original, stamped)
