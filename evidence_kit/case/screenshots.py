"""Stamped screenshot copies: a band burned below the original with who/what/when.

The original PNG stays untouched (and hashed); the stamped copy is derived from it and names
the original's SHA-256 prefix, so a reader can tie the two together without our tool.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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
