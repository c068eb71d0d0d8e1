"""The legal-review report of a sealed archive: one self-contained HTML file, or a PDF of it.

``make`` runs ``verify``'s own checks while extracting the archive; ``collect`` reads the result
into typed data (``model``) through ``verification``, ``targets``, ``files``, ``screenshot_views``,
``sentences`` (journal entries in words) and ``cover`` (did the credentials work?); ``render``
draws it (Jinja2 templates, autoescaped) as HTML, or as a PDF printed by Chromium. See
docs/report.md.

    from evidence_kit.report import write_report, write_reports
    result = write_report(archive, Path("report.pdf"), identity_files=[identity], trust_key=pub)
    html, pdf = write_reports(archive, [Path("r.html"), Path("r.pdf")], identity_files=[identity])  # one extraction
"""

from __future__ import annotations

from evidence_kit.report.make import make_report, make_reports, write_report, write_reports
from evidence_kit.report.model import ReportResult

__all__ = ["ReportResult", "make_report", "make_reports", "write_report", "write_reports"]
