"""Draw :class:`~evidence_kit.report.model.ReportData` as one self-contained HTML file, or as a PDF.

HTML: Jinja2 with autoescape on for every value, styles inline, images as ``data:`` URIs and a
Content-Security-Policy that forbids scripts and every network fetch, so the file opens the
same from a USB stick in ten years and nothing in it can run. The page is written as a stream
(``Template.generate``): a thousand embedded screenshots never sit in memory as one string.

PDF: the same HTML printed by headless Chromium (``page.pdf()``), with the case id, the
archive's SHA-256 and "page N of M" in every footer. When poppler's ``pdftotext`` is present
the PDF is printed twice: the first print tells on which page each section starts, the second
puts those numbers into the table of contents (the layout does not move: the numbers' room is
reserved, invisible, in the first print). Without it the contents still link to the sections.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from evidence_kit.report.accounts import account_groups
from evidence_kit.report.model import ISO_TIME, ReportData
from evidence_kit.report.verification import JOURNAL_SCRIPT

TEMPLATE_DIR = Path(__file__).parent / "templates"
PAPERS = {"a4": "A4", "letter": "Letter"}
MARGIN = {"top": "14mm", "bottom": "18mm", "left": "13mm", "right": "13mm"}


def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,  # every template, whatever its name: nothing from a device is markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["shorttime"] = shorttime
    env.globals["account_groups"] = account_groups  # the summary's "same account" table
    return env


def shorttime(value: str) -> str:
    """``2026-11-25T08:57:09.711972Z`` -> ``2026-11-25 08:57:09Z`` (for narrow columns)."""
    m = ISO_TIME.fullmatch(value or "")
    return f"{m.group(1)} {m.group(2)}{m.group(4) or ''}" if m else value


def prepare_images(data: ReportData) -> None:
    """Re-encode compact screenshots on every core before the page is written (Pillow's WebP
    encoder holds the GIL, so threads would not help: processes do)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from evidence_kit.report.images import lossless_webp

    todo = [s.image for t in data.targets for s in t.screenshots if s.image.compact and s.image.data is None]
    workers = min(os.cpu_count() or 1, 8)
    if len(todo) < 16 or workers < 2:
        for image in todo:
            image.prepare()
        return
    # spawn: a fresh interpreter, never a fork of a process that may hold threads
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for image, webp in zip(todo, pool.map(lossless_webp, [i.path for i in todo], chunksize=8), strict=True):
            image.data, image.media_type = webp, "image/webp"


def write_html(data: ReportData, out: Path, pages: dict[str, str] | None = None) -> int:
    """Write the report page to ``out``; returns its size in bytes."""
    prepare_images(data)
    template = environment().get_template("report.html.j2")
    size = 0
    tmp = out.with_name(out.name + ".partial")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for chunk in template.generate(r=data, paper=data.paper, pages=pages, journal_script=JOURNAL_SCRIPT):
                fh.write(chunk)
                size += len(chunk.encode("utf-8"))
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out.stat().st_size


def footer_template(data: ReportData) -> str:
    from markupsafe import escape

    # Chromium draws this in its own tiny page: explicit font size, no external resources.
    return (
        '<div style="font-family: DejaVu Sans, Arial, sans-serif; font-size: 7px; color: #444; width: 100%; '
        'margin: 0 13mm; display: flex; justify-content: space-between; gap: 8px;">'
        f'<span>Case {escape(data.case_id)} &middot; archive SHA-256 {escape(data.archive_sha256)}'
        f'{" &middot; VERIFICATION FAILED" if not data.ok else ""}</span>'
        '<span style="white-space: nowrap;">Page <span class="pageNumber"></span> of '
        '<span class="totalPages"></span></span></div>'
    )


def header_template(data: ReportData) -> str:
    if data.ok:
        return "<span></span>"
    return ('<div style="font-family: DejaVu Sans, Arial, sans-serif; font-size: 9px; font-weight: bold; '
            'color: #b00020; width: 100%; text-align: center;">VERIFICATION FAILED</div>')


PAPER_INCHES = {"A4": (210 / 25.4, 297 / 25.4), "Letter": (8.5, 11.0)}


def _inches(value: str) -> float:
    return float(value.removesuffix("mm")) / 25.4


def _print(page: Any, cdp: Any, html: Path, pdf: Path, data: ReportData) -> None:
    """Print through CDP's ``Page.printToPDF`` as a stream: a 2,000-page PDF is copied to disk
    in 1 MiB reads instead of crossing into Python as one base64 string (page.pdf() does that)."""
    import base64

    page.goto(html.as_uri(), wait_until="load", timeout=900_000)
    page.emulate_media(media="print")
    width, height = PAPER_INCHES.get(PAPERS.get(data.paper.lower(), "A4"), PAPER_INCHES["A4"])
    result = cdp.send("Page.printToPDF", {
        "paperWidth": width, "paperHeight": height, "printBackground": True, "displayHeaderFooter": True,
        "headerTemplate": header_template(data), "footerTemplate": footer_template(data),
        "marginTop": _inches(MARGIN["top"]), "marginBottom": _inches(MARGIN["bottom"]),
        "marginLeft": _inches(MARGIN["left"]), "marginRight": _inches(MARGIN["right"]),
        "generateTaggedPDF": True, "generateDocumentOutline": True, "transferMode": "ReturnAsStream",
    })
    handle = result["stream"]
    try:
        with open(pdf, "wb") as fh:
            while True:
                chunk = cdp.send("IO.read", {"handle": handle, "size": 1 << 20})
                raw = chunk.get("data", "")
                fh.write(base64.b64decode(raw) if chunk.get("base64Encoded") else raw.encode("latin-1"))
                if chunk.get("eof"):
                    break
    finally:
        cdp.send("IO.close", {"handle": handle})


def page_texts(pdf: Path) -> list[str] | None:
    """Each page's text (poppler's pdftotext), or None if the tool is missing."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        return None
    pages = out.stdout.decode("utf-8", "replace").split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return pages


def section_keys(data: ReportData) -> dict[str, str]:
    """Section id -> the heading text that starts it (the contents print other words), in
    document order."""
    keys = {"verification": "1. Verification"}
    if data.content_available:
        keys["summary"] = "2. Summary of targets"
        keys["targets"] = "3. Targets"
        for i, t in enumerate(data.targets, start=1):
            keys[t.anchor] = f"3.{i} {t.name}"
    keys.update({"appendix-a": "Appendix A \u2014 Artifacts", "appendix-b": "Appendix B \u2014 How to verify",
                 "appendix-c": "Appendix C \u2014 Tools", "appendix-d": "Appendix D \u2014 Custodian",
                 "appendix-e": "Appendix E \u2014 The case journal"})
    return keys


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def find_pages(texts: list[str], keys: dict[str, str]) -> dict[str, str]:
    pages = [_norm(t) for t in texts]
    found: dict[str, str] = {}
    start = 0
    for anchor, key in keys.items():  # sections come in document order: search onwards
        needle = _norm(key)[:60]
        for number in range(start, len(pages)):
            if needle in pages[number]:
                found[anchor] = str(number + 1)
                start = number
                break
    return found


def pdf_page_count(pdf: Path) -> int:
    """Page objects in a PDF (Chromium writes them uncompressed), read in blocks."""
    pattern = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
    count, tail = 0, b""
    with open(pdf, "rb") as fh:
        while block := fh.read(4 << 20):
            buf = tail + block
            matches = list(pattern.finditer(buf))
            keep = max(0, len(buf) - 32)  # a match cut at the block's end is counted next time
            count += sum(1 for m in matches if m.start() < keep)
            tail = buf[keep:]
    count += len(pattern.findall(tail))
    return count


def write_pdf(data: ReportData, out: Path, workdir: Path, browser: str | None = None) -> int:
    """Print the report with headless Chromium; returns the number of pages."""
    from evidence_kit.browser import sync_browser

    html = workdir / "report-print.html"
    placeholder = {a: "" for a in section_keys(data)}
    write_html(data, html, pages=placeholder)
    first = workdir / "report-pass1.pdf"
    with sync_browser(browser) as chromium:
        context = chromium.new_context(java_script_enabled=False, offline=True, service_workers="block")
        try:
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            _print(page, cdp, html, first, data)
            texts = page_texts(first)
            if texts is None:
                shutil.move(str(first), str(out))
                return pdf_page_count(out)
            pages = find_pages(texts, section_keys(data))
            write_html(data, html, pages=pages)
            final = workdir / "report-pass2.pdf"
            _print(page, cdp, html, final, data)
        finally:
            context.close()
    first.unlink(missing_ok=True)
    shutil.move(str(final), str(out))  # the report appears only when complete
    return pdf_page_count(out)
