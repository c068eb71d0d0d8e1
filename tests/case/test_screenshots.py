"""Stamped screenshot copies: the original is untouched, the band names it."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from evidence_kit.stamp import StampInfo, stamp_png


def _png(w: int = 640, h: int = 400) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 220, 240)).save(buf, format="PNG")
    return buf.getvalue()


def test_band_added_below_and_original_pixels_kept() -> None:
    png = _png()
    digest = hashlib.sha256(png).hexdigest()
    info = StampInfo("2026-11-25T09:00:00.000000Z", "contoso-20261125-abcd", "edge-fw",
                     "https://10.0.0.1/" + "x" * 500, 3, digest)
    out = stamp_png(png, info)
    with Image.open(io.BytesIO(out)) as img, Image.open(io.BytesIO(png)) as orig:
        assert img.width == orig.width and img.height > orig.height
        assert img.crop((0, 0, orig.width, orig.height)).tobytes() == orig.convert("RGB").tobytes()
        band = img.crop((0, orig.height + 2, img.width, img.height))
        assert band.getextrema() != ((20, 20), (20, 20), (20, 20))  # text was drawn
    assert hashlib.sha256(png).hexdigest() == digest  # input not modified


def test_lines_carry_time_case_target_url_seq_and_hash_prefix() -> None:
    info = StampInfo("2026-11-25T09:00:00Z", "case-1", "router", "http://h/", 7, "ab" * 32)
    text = "\n".join(info.lines())
    for part in ("2026-11-25T09:00:00Z", "case-1", "router", "http://h/", "#7", "abababababababab"):
        assert part in text
