"""Make a report: re-run verification (verify's own code), read the bag, draw HTML or PDF.

The checks are never re-implemented here: :func:`evidence_kit.seal.verify.extract` runs every
check ``evidence-kit verify`` runs while it extracts the archive into a temporary folder; the
report is drawn from that folder and that result, and the folder is removed afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evidence_kit.case.artifacts import sha256_file
from evidence_kit.errors import EvidenceKitError, UsageError
from evidence_kit.report.model import ReportResult
from evidence_kit.seal.model import Verification
from evidence_kit.seal.verify import find_receipt

FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}


class ReportError(EvidenceKitError):
    """The report could not be drawn (e.g. Chromium failed while printing the PDF)."""


def output_format(out: Path) -> str:
    fmt = FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise UsageError(f"{out}: the report's name must end in .html or .pdf")
    return fmt


def _archive_sha256(checked: Verification, archive: Path) -> tuple[str, int]:
    for check in checked.checks:
        if check.name == "decrypt" and check.facts.get("ciphertext_sha256"):
            return str(check.facts["ciphertext_sha256"]), int(check.facts.get("size") or archive.stat().st_size)
    return sha256_file(archive)


def _check_output(output: Path) -> str:
    fmt = output_format(output)
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: output folder does not exist")
    if output.is_dir():
        raise UsageError(f"{output}: is a folder; give the report's file name")
    return fmt


def make_reports(options: Any, outputs: Sequence[Path], paper: str = "A4", browser: str | None = None,
                 compact_images: bool = False) -> list[ReportResult]:
    """Verify ``options.archive`` (a :class:`~evidence_kit.seal.verify.VerifyOptions`) once and
    draw every report in ``outputs`` (each ``.html`` or ``.pdf``) from that one extraction.

    The archive is decrypted, extracted and checked once whatever the number of outputs (an
    HTML page and a PDF of a 250 MB case cost one extraction, not two). Each result's
    ``seconds`` counts from the start, so the last one is the total.
    """
    from evidence_kit.report.collect import collect
    from evidence_kit.report.render import PAPERS, write_html, write_pdf
    from evidence_kit.seal.verify import extract

    started = time.monotonic()
    outputs = [Path(o) for o in outputs]
    if not outputs:
        raise UsageError("give at least one report to write (NAME.html or NAME.pdf)")
    formats = [_check_output(o) for o in outputs]
    if paper.lower() not in PAPERS:
        raise UsageError(f"--paper {paper}: choose A4 or Letter")
    results = []
    work = Path(tempfile.mkdtemp(prefix="evidence-kit-report-", dir=options.workdir))
    try:
        checked = extract(options, work / "bag")
        sha, size = _archive_sha256(checked, Path(options.archive))
        data = collect(checked, Path(options.archive), sha, size, paper=PAPERS[paper.lower()],
                       receipt=find_receipt(options), passphrase=options.passphrase is not None,
                       compact_images=compact_images)
        for output, fmt in zip(outputs, formats, strict=True):
            pages = None
            if fmt == "html":
                written = write_html(data, output)
            else:
                try:
                    pages = write_pdf(data, output, work, browser)
                except EvidenceKitError:
                    raise
                except Exception as exc:  # Playwright/Chromium failures: one line, not a traceback
                    first = " ".join(str(exc).split())[:200]
                    raise ReportError(f"{output}: printing the PDF with Chromium failed ({type(exc).__name__}: "
                                      f"{first}); the HTML report can still be made")
                written = output.stat().st_size
            results.append(ReportResult(
                output=output, format=fmt, ok=checked.ok, failed_checks=[c.name for c in checked.failed],
                case_id=data.case_id, archive_sha256=sha, targets=len(data.targets),
                screenshots=data.screenshot_count, size=written, pages=pages,
                seconds=round(time.monotonic() - started, 3),
                notes=[] if data.content_available else [data.content_note],
            ))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def make_report(options: Any, output: Path, paper: str = "A4", browser: str | None = None,
                compact_images: bool = False) -> ReportResult:
    """Verify ``options.archive`` (a :class:`~evidence_kit.seal.verify.VerifyOptions`) and write
    the report to ``output`` (``.html`` or ``.pdf``)."""
    return make_reports(options, [output], paper=paper, browser=browser, compact_images=compact_images)[0]


def write_report(
    archive: Path,
    out: Path,
    identity_files: Sequence[Path] = (),
    passphrase: bytes | None = None,
    trust_key: Path | None = None,
    tsa_cas: Sequence[Path] = (),
    paper: str = "A4",
    receipt: Path | None = None,
    browser: str | None = None,
    compact_images: bool = False,
) -> ReportResult:
    """Write the report of ``archive`` to ``out`` (.html or .pdf), opening it with the age
    identity files given (or ``passphrase``), checking the signer against ``trust_key`` (a
    public key file) and the time-stamps against ``tsa_cas`` (root certificate files).
    ``compact_images`` embeds screenshots as lossless WebP (same pixels, smaller report; the
    page says so) instead of the archived PNG bytes."""
    return write_reports(archive, [out], identity_files, passphrase, trust_key, tsa_cas, paper, receipt, browser,
                         compact_images)[0]


def write_reports(
    archive: Path,
    outs: Sequence[Path],
    identity_files: Sequence[Path] = (),
    passphrase: bytes | None = None,
    trust_key: Path | None = None,
    tsa_cas: Sequence[Path] = (),
    paper: str = "A4",
    receipt: Path | None = None,
    browser: str | None = None,
    compact_images: bool = False,
) -> list[ReportResult]:
    """:func:`write_report` for several outputs (e.g. ``report.html`` and ``report.pdf``) drawn
    from one verification and extraction of the archive; one result per output, in order."""
    return make_reports(_verify_options(archive, identity_files, passphrase, trust_key, tsa_cas, receipt), outs,
                        paper=paper, browser=browser, compact_images=compact_images)


def _verify_options(archive: Path, identity_files: Sequence[Path], passphrase: bytes | None,
                    trust_key: Path | None, tsa_cas: Sequence[Path], receipt: Path | None) -> Any:
    from evidence_kit.seal.keys import load_identities, load_public_key
    from evidence_kit.seal.timestamp import load_roots
    from evidence_kit.seal.verify import VerifyOptions

    if not identity_files and passphrase is None:
        raise UsageError("give an age identity file or a passphrase to open the archive")
    identities: list[Any] = []
    for path in identity_files:
        identities.extend(load_identities(Path(path)))
    return VerifyOptions(
        archive=Path(archive), identities=identities, passphrase=passphrase,
        trust_key=load_public_key(Path(trust_key)) if trust_key else None,
        tsa_roots=load_roots([Path(p) for p in tsa_cas]), receipt=receipt,
    )
