"""The transmittal letter, HTML and PDF, drawn by the report's renderer.

The same Jinja2 environment as the legal-review report (:func:`evidence_kit.report.render.environment`:
autoescape on, strict undefined), the same stylesheet (the template includes ``style.css.j2``),
the same Content-Security-Policy, and the same Chromium for the PDF
(:func:`evidence_kit.browser.sync_browser`, paper sizes and margins from ``render``). The letter
is a few pages, so ``page.pdf()`` is enough here (the report streams its thousand-page PDFs).
Every value comes from the transmittal's body and is escaped: target names, user names and
addresses come from an inventory someone else may have written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HTML_NAME = "transmittal.html"
PDF_NAME = "transmittal.pdf"
TEMPLATE = "transmittal.html.j2"


def render_html(body: dict[str, Any], paper: str = "A4") -> str:
    from evidence_kit.handover.package import folder_name
    from evidence_kit.report.render import PAPERS, environment

    copy_names = list(dict.fromkeys(r["name"] for r in body["recipients"] if r["role"] != "client"))
    unmatched = [c for c in body["items"] if not c["delivered_equals_tested"]]
    template = environment().get_template(TEMPLATE)
    return str(template.render(t=body, copy_names=copy_names, unmatched=unmatched,
                               package_folder=folder_name(body["case"]["case_id"]),
                               paper=PAPERS.get(paper.lower(), "A4")))


def _footer(body: dict[str, Any]) -> str:
    from markupsafe import escape

    return (
        '<div style="font-family: DejaVu Sans, Arial, sans-serif; font-size: 7px; color: #444; width: 100%; '
        'margin: 0 13mm; display: flex; justify-content: space-between; gap: 8px;">'
        f'<span>Transmittal {escape(body["transmittal_id"])} &middot; evidence archive SHA-256 '
        f'{escape(body["evidence"]["sha256"])}</span>'
        '<span style="white-space: nowrap;">Page <span class="pageNumber"></span> of '
        '<span class="totalPages"></span></span></div>'
    )


def write_letter(folder: Path, body: dict[str, Any], pdf: bool, paper: str = "A4",
                 browser: str | None = None) -> list[str]:
    """Write transmittal.html (and transmittal.pdf) into ``folder``; returns the file names."""
    from evidence_kit.report.render import MARGIN, PAPERS

    html = folder / HTML_NAME
    html.write_text(render_html(body, paper), encoding="utf-8", newline="\n")
    if not pdf:
        return [HTML_NAME]
    from evidence_kit.browser import sync_browser

    with sync_browser(browser) as chromium:
        context = chromium.new_context(java_script_enabled=False, offline=True, service_workers="block")
        try:
            page = context.new_page()
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.pdf(path=str(folder / PDF_NAME), format=PAPERS.get(paper.lower(), "A4"), margin=MARGIN,
                     print_background=True, display_header_footer=True, header_template="<span></span>",
                     footer_template=_footer(body), tagged=True)
        finally:
            context.close()
    return [HTML_NAME, PDF_NAME]
