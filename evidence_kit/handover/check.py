"""``verify ARCHIVE --against-package PACKAGE``: delivered equals tested, per credential.

The archive is verified by :func:`evidence_kit.seal.verify.extract` (every check ``verify`` runs,
unchanged) into a temporary folder; then, from the sealed ``case.json`` (commitment parameters)
and the sealed journal (each target's latest commitments, read by
:func:`evidence_kit.handover.evidence.read_evidence` as handover read them), each credential in
the package is committed to again and compared. The result is one ``credential TARGET`` check
per delivered target, which names the fields and never a value. When a transmittal lies beside
the archive (a handover folder) or is given, it is checked too (signature, time-stamps, that it
names this archive and this package) and every acknowledgment of it is listed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from evidence_kit.case.artifacts import sha256_file
from evidence_kit.case.commitments import matches
from evidence_kit.errors import EvidenceKitError, UsageError
from evidence_kit.handover import ack, transmittal
from evidence_kit.handover.evidence import read_evidence
from evidence_kit.handover.package import open_package
from evidence_kit.seal.model import DATA_DIR, Status, Verification
from evidence_kit.seal.verify import VerifyOptions, extract, verify

P, F, N = Status.PASSED, Status.FAILED, Status.NOT_CHECKED


def beside(archive: Path) -> Path | None:
    candidate = Path(archive).parent / transmittal.NAME
    return candidate if candidate.is_file() else None


def verify_handover(options: VerifyOptions, package: Path | None = None,
                    transmittal_file: Path | None = None) -> Verification:
    """``verify``, plus the handover's checks when there is a package or a transmittal to check."""
    if transmittal_file is not None and not Path(transmittal_file).is_file():
        raise UsageError(f"--transmittal {transmittal_file}: no such file")
    if package is not None:
        if not Path(package).is_file():
            raise UsageError(f"--against-package {package}: no such file")
        if not options.identities:
            raise UsageError("--against-package needs --identity: a credential package is encrypted to recipient keys")
    found = transmittal_file or beside(options.archive)
    if package is None and found is None:
        return verify(options)
    work = Path(tempfile.mkdtemp(prefix="evidence-kit-handover-", dir=options.workdir))
    try:
        report = extract(options, work / "bag")
        archive_sha = next((str(c.facts["ciphertext_sha256"]) for c in report.checks
                            if c.name == "decrypt" and c.facts.get("ciphertext_sha256")), None)
        if found is not None:
            _check_transmittal(report, Path(found), archive_sha, package, options)
        if package is not None:
            _check_package(report, Path(package), options)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_transmittal(report: Verification, path: Path, archive_sha: str | None, package: Path | None,
                       options: VerifyOptions) -> None:
    try:
        checked = transmittal.check(path, options.tsa_roots or None)
    except transmittal.TransmittalProblem as exc:
        report.add("transmittal", F, str(exc))
        return
    body = checked.body
    problems = []
    if archive_sha is not None and (body.get("evidence") or {}).get("sha256") != archive_sha:
        problems.append("it names another evidence archive than this one")
    if report.signer_fingerprint and checked.signer_fingerprint != report.signer_fingerprint:
        problems.append(f"signed by {checked.signer_fingerprint}, the archive by {report.signer_fingerprint}")
    if package is not None:
        digest = sha256_file(Path(package))[0]
        if (body.get("credential_package") or {}).get("sha256") != digest:
            problems.append("it names another credential package than the one given")
    stamped = f"; time-stamped {', '.join(checked.times)}" if checked.times else "; not time-stamped"
    if problems:
        report.add("transmittal", F, f"{path.name}: {'; '.join(problems)}")
    else:
        recipients = sorted({f"{r['name']} ({r['role']})" for r in body.get("recipients", [])})
        report.add("transmittal", P, f"{body.get('transmittal_id')}: signature verifies, names this archive"
                   f"{' and package' if package else ''}; to {', '.join(recipients)}{stamped}",
                   sha256=checked.sha256)
    acks = ack.check_all(checked, options.tsa_roots or None)
    if not acks:
        report.add("acknowledgment", N, "no acknowledgment of the transmittal yet (acknowledgments/ beside it)")
    for number, one in enumerate(acks, start=1):
        report.add(f"acknowledgment {number}", P if one.ok else F, one.detail, acknowledged_by=one.name,
                   key_fingerprint=one.key_fingerprint)


def _check_package(report: Verification, package: Path, options: VerifyOptions) -> None:
    root = Path(report.extracted_to) if report.extracted_to else None
    if root is None or not (root / DATA_DIR / "journal.jsonl").is_file():
        report.add("package", N, "the archive could not be read, so there is nothing to compare the package with")
        return
    try:
        evidence = read_evidence(root / DATA_DIR)
        params = evidence.params
    except (EvidenceKitError, ValueError, KeyError, TypeError) as exc:
        report.add("package", F, f"the sealed case holds no usable commitments ({exc.__class__.__name__})")
        return
    try:
        opened = open_package(package, options.identities)
    except EvidenceKitError as exc:
        report.add("package", F, exc.one_line())
        return
    same_case = all(e.facts.get("case-id") in (None, evidence.case_id) for e in opened.entries)
    good = 0
    for entry in opened.entries:
        tested = evidence.targets.get(entry.target)
        label = f"credential {entry.target}"
        if tested is None or not tested.commitments:
            report.add(label, F, f"the credential delivered for {entry.target} was never tested in this evidence")
            continue
        differs = [f for f, value in entry.values.items() if f not in tested.commitments
                   or not matches(params, value, entry.target, f, tested.commitments[f])]
        missing = [f for f in tested.commitments if f not in entry.values]
        claimed = [f for f, c in entry.recorded_commitments.items() if tested.commitments.get(f) != c]
        if differs or missing or claimed:
            parts = [f"{', '.join(differs)} delivered for {entry.target} is NOT the one tested"] if differs else []
            parts += [f"{', '.join(missing)} tested but not delivered"] if missing else []
            parts += [f"the package records commitments other than the evidence's for {', '.join(claimed)}"] \
                if claimed else []
            report.add(label, F, "; ".join(parts))
            continue
        good += 1
        fields = ", ".join(entry.values)
        worked = ("is the one that worked at" if tested.outcome == "login_ok"
                  else f"is the one tested (outcome {tested.describe_outcome()}) at")
        report.add(label, P, f"the credential delivered for {entry.target} ({fields}) {worked} {tested.tested_at}",
                   fields=list(entry.values), outcome=tested.outcome, tested_at=tested.tested_at)
    total = len(opened.entries)
    summary = f"{package.name}: {good} of {total} delivered credential(s) are the ones tested"
    if not same_case:
        report.add("package", F, f"{package.name}: made for another case than this archive's {evidence.case_id}")
    elif total == 0:
        report.add("package", F, f"{package.name}: holds no evidence-kit credential entry")
    else:
        report.add("package", P if good == total else F, summary, delivered=total, matching=good)
