"""The legal-review report of a sealed archive: one self-contained HTML file, or a PDF of it.

``collect`` reads a verified, extracted archive into typed data (``model``); ``render`` draws
it (Jinja2 templates, autoescaped); ``make`` ties them to ``verify``'s own checks.

    from evidence_kit.report import write_report
    result = write_report(archive, Path("report.pdf"), identity_files=[identity], trust_key=pub)
"""

from __future__ import annotations

from evidence_kit.report.make import make_report, write_report
from evidence_kit.report.model import ReportResult

__all__ = ["ReportResult", "make_report", "write_report"]
