"""Screenshots into a case: the original is untouched, the stamped copy's band names it, and
both are journaled with label, url and sequence number."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.journal import read_entries
from evidence_kit.case.outcome import Outcome
from evidence_kit.case.screenshots import StampInfo, add_screenshot, stamp_png


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


def test_add_screenshot_journals_original_and_stamped_copy(tmp_path: Path) -> None:
    png = _png(320, 240)
    case = Case.open_for_capture(tmp_path / "case", CaseDetails("Contoso Ltd", "Example MSP", "J. Doe"), {})
    with case.target("edge-fw", "web", "pfsense_web", "https://10.0.0.1/") as session:
        records = add_screenshot(session, png, "login-page", "https://10.0.0.1/", 1)
        session.finish(Outcome.LOGIN_OK)
    case.close()
    assert records.original.path.endswith("/01-login-page.png")
    assert records.stamped.path.endswith("/01-login-page.stamped.png")
    assert (tmp_path / "case" / records.original.path).read_bytes() == png
    added = [e for e in read_entries(tmp_path / "case" / "journal.jsonl") if e["event"] == "artifact_added"]
    original, stamped = (e["data"] for e in added)
    assert original["kind"] == "screenshot" and original["label"] == "login-page" and original["seq"] == 1
    assert original["url"] == "https://10.0.0.1/" and original["taken"]
    assert stamped["kind"] == "screenshot_stamped" and stamped["original"] == records.original.path
    assert stamped["original_sha256"] == hashlib.sha256(png).hexdigest() == records.original.sha256
    with Image.open(tmp_path / "case" / records.stamped.path) as img:
        assert img.width == 320 and img.height > 240
