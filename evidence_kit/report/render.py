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

from evidence_kit.report.model import ReportData

TEMPLATE_DIR = Path(__file__).parent / "templates"
PAPERS = {"a4": "A4", "letter": "Letter"}
MARGIN = {"top": "14mm", "bottom": "18mm", "left": "13mm", "right": "13mm"}


class PdfProblem(Exception):
    pass


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
    return env


def shorttime(value: str) -> str:
    """``2026-11-25T08:57:09.711972Z`` -> ``2026-11-25 08:57:09Z`` (for narrow columns)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)?", value or "")
    return f"{m.group(1)} {m.group(2)}{m.group(3) or ''}" if m else value


def prepare_images(data: ReportData) -> None:
    """Re-encode compact screenshots on all cores before the (single-threaded) page is written."""
    from concurrent.futures import ThreadPoolExecutor

    todo = [s.image for t in data.targets for s in t.screenshots if s.image.compact and s.image.data is None]
    if todo:
        with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
            list(pool.map(lambda image: image.prepare(), todo))


def write_html(data: ReportData, out: Path, pages: dict[str, str] | None = None) -> int:
    """Write the report page to ``out``; returns its size in bytes."""
    prepare_images(data)
    template = environment().get_template("report.html.j2")
    size = 0
    tmp = out.with_name(out.name + ".partial")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for chunk in template.generate(r=data, paper=data.paper, pages=pages):
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


def _print(page: Any, html: Path, pdf: Path, data: ReportData) -> None:
    page.goto(html.as_uri(), wait_until="load", timeout=600_000)
    page.emulate_media(media="print")
    page.pdf(
        path=str(pdf), format=PAPERS.get(data.paper.lower(), "A4"), print_background=True,
        display_header_footer=True, header_template=header_template(data), footer_template=footer_template(data),
        margin=MARGIN, outline=True, tagged=True,
    )


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
    """Section id -> the heading text that starts it (as the TOC does not print it)."""
    keys = {"verification": "1. Verification", "appendix-a": "Appendix A", "appendix-b": "Appendix B",
            "appendix-c": "Appendix C", "appendix-d": "Appendix D"}
    if data.content_available:
        keys["summary"] = "2. Summary of targets"
        keys["targets"] = "3. Targets"
        for i, t in enumerate(data.targets, start=1):
            keys[t.anchor] = f"3.{i} {t.name}"
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
    texts = page_texts(pdf)
    if texts is not None:
        return len(texts)
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


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
            _print(page, html, first, data)
            texts = page_texts(first)
            if texts is None:
                shutil.move(str(first), str(out))
                return pdf_page_count(out)
            pages = find_pages(texts, section_keys(data))
            write_html(data, html, pages=pages)
            _print(page, html, out, data)
        finally:
            context.close()
    first.unlink(missing_ok=True)
    return pdf_page_count(out)
