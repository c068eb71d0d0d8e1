"""Read a verified, extracted archive into :class:`~evidence_kit.report.model.ReportData`.

Input: the :class:`~evidence_kit.seal.model.Verification` that ``verify``'s own code produced
while extracting (the report never re-implements a check) and the bag folder it extracted.
Only files that the verification read and hashed are opened; when verification could not read
the content safely, the report carries the verification table and nothing else.

Who reads what: :mod:`verification` the checks, times, signer and bag; :mod:`targets` the
journal; :mod:`files` the transcripts, certificates and authorization; :mod:`screenshot_views` the
screenshots. This module puts the case facts and tool versions beside them.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from evidence_kit import __version__
from evidence_kit.case.journal import JOURNAL_NAME
from evidence_kit.report import files, screenshot_views, trusted_time, verification
from evidence_kit.report.cover import credentials_answer
from evidence_kit.report.model import ReportData, VersionRow
from evidence_kit.report.targets import read_journal
from evidence_kit.report.terminal import visible
from evidence_kit.report.wording import flatten
from evidence_kit.seal.model import DATA_DIR, INFO_SEALED, Verification

CASE_FIELDS = ("client", "provider", "technician", "purpose", "created")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def collect(checked: Verification, archive: Path, archive_sha256: str, archive_size: int, paper: str = "A4",
            receipt: Path | None = None, passphrase: bool = False, compact_images: bool = False) -> ReportData:
    """Turn the verification result (and, when readable, the extracted bag) into report data."""
    root = Path(checked.extracted_to) if checked.extracted_to else None
    readable = root is not None and (root / DATA_DIR / "case.json").is_file() and \
        (root / DATA_DIR / JOURNAL_NAME).is_file()
    data = ReportData(
        generated=_now(), tool_version=__version__, archive_name=archive.name, archive_sha256=archive_sha256,
        archive_size=archive_size, ok=checked.ok, checks=verification.check_rows(checked),
        failed_checks=[c.name for c in checked.failed], signer_fingerprint=checked.signer_fingerprint,
        signer_trusted=verification.signer_trusted(checked), case_id=visible(checked.case_id or "unknown"),
        content_available=readable, paper=paper,
    )
    data.commands = verification.verify_commands(archive.name, checked.case_id or "CASE-ID",
                                                 verification.tsr_names(checked), checked.signer_fingerprint,
                                                 archive_sha256, passphrase)
    if not readable or root is None:
        data.content_note = ("The archive's content could not be read safely, so no evidence from it is shown. "
                             "Only the verification results above are reliable.")
        data.trusted_times = verification.trusted_times(checked, "")
        data.credentials = credentials_answer([], readable=False)
        return data
    if not checked.ok:
        data.content_note = ("Verification FAILED. The content below is shown as it was found in the archive so "
                             "that the failure can be examined; do not rely on it as evidence.")
    _fill(data, checked, root, receipt, compact_images)
    data.credentials = credentials_answer(data.targets, readable=True)
    return data


def _fill(data: ReportData, checked: Verification, root: Path, receipt: Path | None, compact: bool) -> None:
    payload = root / DATA_DIR
    try:
        info = json.loads((payload / "case.json").read_bytes())
    except (OSError, ValueError):
        info = {}
    info = info if isinstance(info, dict) else {}
    for key in CASE_FIELDS:
        setattr(data, key, visible(str(info.get(key) or "")))
    data.bag_info = verification.bag_info(root)
    data.commitment_derivation = verification.commitment_derivation(root)
    flatten("", info.get("capture_host") or {}, data.capture_host)
    flatten("", info.get("clock") or {}, data.clock)
    flatten("", info.get("commitments") or {}, data.commitment_params)
    _seal_time(data, checked, receipt)

    reading = read_journal(payload, data.problems)
    data.journal_entries, data.journal_head = reading.entries, reading.head
    data.artifacts = reading.artifacts
    data.journal = reading.rows
    for run, facts in reading.run_facts:
        _run_versions(data, facts, run)
    screenshot_views.pair(payload, reading.stamped, reading.originals, reading.targets, compact)
    screenshot_views.thumbnails([v for v in reading.targets.values()
                            if v.screenshots and v.screenshots[-1].image.media_type])
    data.targets = list(reading.targets.values())
    trusted_time.fill(reading.targets, payload / JOURNAL_NAME, checked)
    data.runs = len(reading.runs - {0})
    if reading.times:
        data.capture_start, data.capture_end = min(reading.times), max(reading.times)
    data.authorization = files.authorization(payload, info.get("authorization"), {a.path: a for a in data.artifacts})
    _tool_versions(data, info)


def _seal_time(data: ReportData, checked: Verification, receipt: Path | None) -> None:
    """The signer's own seal time (receipt, else the signed bag-info.txt), and the trusted times."""
    sealed = verification.receipt_sealed(receipt, checked)
    signed_bag = checked.ok and dict(data.bag_info).get(INFO_SEALED, "")
    if sealed:
        data.sealed_local, data.sealed_local_source = sealed, "the signer's clock, from the signed receipt"
    elif signed_bag:
        sealed = signed_bag
        data.sealed_local, data.sealed_local_source = sealed, "the signer's clock, from the signed bag-info.txt"
    else:
        day = dict(data.bag_info).get("Bagging-Date", "")
        data.sealed_local = day
        data.sealed_local_source = "bag-info.txt Bagging-Date (day only; no checked receipt)" if day else ""
    data.trusted_times = verification.trusted_times(checked, sealed)


def _run_versions(data: ReportData, facts: dict[str, Any], run: int) -> None:
    where = f"capture run {run}"
    tool = facts.get("tool") or {}
    if isinstance(tool, dict) and tool.get("version"):
        data.versions.append(VersionRow(visible(str(tool.get("name") or "evidence-kit")),
                                        visible(str(tool["version"])), where))
    host = facts.get("host") or {}
    if isinstance(host, dict) and host.get("python"):
        data.versions.append(VersionRow("python", visible(str(host["python"])), where))
    deps = facts.get("dependencies") or {}
    if isinstance(deps, dict):
        for name, version in sorted(deps.items()):
            data.versions.append(VersionRow(visible(str(name)), visible(str(version)), where))


def _tool_versions(data: ReportData, info: dict[str, Any]) -> None:
    if not data.versions:
        tool = info.get("tool") or {}
        if isinstance(tool, dict) and tool.get("version"):
            data.versions.append(VersionRow(visible(str(tool.get("name") or "evidence-kit")),
                                            visible(str(tool["version"])), "case.json"))
        for name, version in sorted((info.get("dependencies") or {}).items()):
            data.versions.append(VersionRow(visible(str(name)), visible(str(version)), "case.json"))
    sealer = dict(data.bag_info).get("Bag-Software-Agent")
    if sealer:
        data.versions.append(VersionRow("sealed by", sealer, "bag-info.txt"))
    data.versions.append(VersionRow("evidence-kit", __version__, "this report"))
