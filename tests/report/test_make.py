"""One verification and extraction for several reports (make.make_reports / write_reports)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import evidence_kit.seal.verify as verify
from evidence_kit.errors import UsageError
from evidence_kit.report import write_report, write_reports
from tests.report.conftest import Sealed

pytestmark = pytest.mark.slow


def test_html_and_pdf_from_one_extraction(sealed: Sealed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real = verify.extract

    def counting(options, dest):  # the real extract, counted
        calls.append(dest)
        return real(options, dest)

    monkeypatch.setattr(verify, "extract", counting)
    html, pdf = write_reports(sealed.archive, [tmp_path / "r.html", tmp_path / "r.pdf"],
                              identity_files=[sealed.identity], trust_key=sealed.public_key,
                              tsa_cas=[sealed.tsa_root])
    assert len(calls) == 1
    assert (html.format, pdf.format) == ("html", "pdf") and html.ok and pdf.ok
    assert html.archive_sha256 == pdf.archive_sha256 and pdf.pages and pdf.seconds >= html.seconds
    # both drawn from the same data: the same "report made" time
    made = re.search(r"Report made (\S+) by evidence-kit", (tmp_path / "r.html").read_text(encoding="utf-8"))
    assert made
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], check=True, capture_output=True,
                                   text=True).stdout.split())
    assert f"Report made {made.group(1)} by evidence-kit" in text


def test_outputs_are_checked_before_the_archive_is_opened(sealed: Sealed, tmp_path: Path) -> None:
    for outs, problem in (([tmp_path / "a.html", tmp_path / "b.docx"], "must end in .html or .pdf"),
                          ([tmp_path / "a.html", tmp_path / "no" / "b.pdf"], "does not exist"),
                          ([], "at least one report")):
        with pytest.raises(UsageError, match=problem):
            write_reports(sealed.archive, outs, identity_files=[sealed.identity])
        assert not (tmp_path / "a.html").exists()
    with pytest.raises(UsageError, match="identity file or a passphrase"):
        write_report(sealed.archive, tmp_path / "a.html")
