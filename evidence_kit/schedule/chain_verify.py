"""``verify --chain ARCHIVE_DIR``: a folder of one case's run archives, checked as one history.

Every finding names the run (its position and file) and what happened to it:

``deleted``    a position is missing (the next receipt names the one that was there), the first
               run names a predecessor, a receipt's archive is gone, or -- given the case folder --
               a run the case journal recorded as sealed is not in the folder (the only way to
               notice the *newest* run deleted: nothing after it names it)
``replaced``   an archive no longer matches its receipt, or a receipt is not the one the next run
               names (a different, even validly signed, receipt took its place)
``reordered``  files renamed into each other's places (a receipt or archive under another run's
               name), or runs whose sealing or TSA times go backwards along the chain
``inserted``   an archive or receipt that is not part of the chain (no link, a second claim to a
               position, a copy of another run, an archive without a receipt, a signature that
               does not verify)

A folder that is not one case's history (nothing to check, a receipt of another case or of
another format, no receipt made by ``run``) is bad input: one line, exit 2. The report is the
same :class:`~evidence_kit.seal.model.Verification` that ``verify`` prints.
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence_kit.case.artifacts import sha256_file
from evidence_kit.errors import ArchiveError, UsageError
from evidence_kit.schedule.chain import CHAIN_FORMAT, journal_seals
from evidence_kit.seal import sign
from evidence_kit.seal.keys import fingerprint
from evidence_kit.seal.model import RECEIPT_FORMAT, RECEIPT_SUFFIX, Status, Verification
from evidence_kit.seal.receipt import canonical
from evidence_kit.seal.timestamp import TimestampProblem, check_response

P, F, N = Status.PASSED, Status.FAILED, Status.NOT_CHECKED


@dataclass
class _Run:
    path: Path  # the receipt file
    body: dict[str, Any]
    sha256: str  # of the receipt file
    signer: str | None = None
    signature_problem: str | None = None
    tsa_times: list[str] = field(default_factory=list)
    archive_problem: str | None = None
    archive_sha256: str | None = None

    @property
    def chain(self) -> dict[str, Any]:
        value = self.body.get("chain")
        return value if isinstance(value, dict) else {}

    @property
    def position(self) -> int:
        return int(self.chain.get("position") or 0)

    @property
    def archive_name(self) -> str:
        return str(self.body["archive"]["name"])

    @property
    def label(self) -> str:
        return f"run {self.position}"


def _load(folder: Path) -> tuple[list[_Run], list[Path]]:
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder (verify --chain takes the folder a case's runs seal into)")
    receipts = sorted(folder.glob(f"*{RECEIPT_SUFFIX}"))
    archives = sorted(p for p in folder.glob("*.age") if p.is_file())
    if not receipts:
        raise ArchiveError(f"{folder}: no receipts (*{RECEIPT_SUFFIX}) here: not the archive folder of a run history")
    runs = []
    for path in receipts:
        try:
            raw = path.read_bytes()
            doc = json.loads(raw)
            body = doc["receipt"]
            if not isinstance(body, dict) or body.get("format") != RECEIPT_FORMAT:
                raise TypeError
            str(body["archive"]["name"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ArchiveError(f"{path}: not an evidence-kit receipt; a history folder holds one case's run archives "
                               "and their receipts only")
        run = _Run(path, body, sha256_file(path)[0])
        _check_signature(run, doc)
        runs.append(run)
    cases = sorted({str(r.body.get("case_id")) for r in runs})
    if len(cases) > 1:
        raise ArchiveError(f"{folder}: holds the archives of {len(cases)} cases ({', '.join(cases[:4])}): a history is "
                           "one case's runs; keep each case's archives in a folder of their own")
    if not any(r.chain.get("format") == CHAIN_FORMAT for r in runs):
        raise ArchiveError(f"{folder}: none of its receipts belongs to a run history (they were sealed with "
                           "`seal`, not by `run`)")
    return runs, archives


def _check_signature(run: _Run, doc: dict[str, Any]) -> None:
    try:
        public = sign.load_signer(str(run.body["signer"]["public_key_pem"]).encode())
        sign.verify(public, canonical(run.body), base64.b64decode(doc["signature"], validate=True))
        run.signer = fingerprint(public)
    except (sign.SignatureProblem, KeyError, TypeError, ValueError) as exc:
        run.signature_problem = str(exc) if isinstance(exc, sign.SignatureProblem) else "no readable signature"
    run.tsa_times = []
    stamps = doc.get("timestamps") if isinstance(doc.get("timestamps"), list) else []
    for stamp in stamps or []:
        try:
            info = check_response(base64.b64decode(stamp["response"], validate=True),
                                  base64.b64decode(doc["signature"], validate=True))
            run.tsa_times.append(info.gen_time)
        except (TimestampProblem, KeyError, TypeError, ValueError):
            continue


def verify_chain(folder: Path, trust_key: Ed25519PublicKey | None = None,
                 tsa_roots: list[x509.Certificate] | None = None, case_root: Path | None = None) -> Verification:
    """Check ``folder`` as one history (module docstring); ``case_root`` adds the journal's view."""
    del tsa_roots  # the receipts' TSA times order the runs; their trust is verify's, per archive
    folder = Path(folder)
    runs, archives = _load(folder)
    report = Verification(archive=str(folder))
    report.case_id = str(runs[0].body.get("case_id"))
    by_archive_sha = {str(r.body["archive"]["sha256"]): r for r in runs}
    named = {r.archive_name for r in runs}
    findings: list[tuple[str, str]] = []  # (label, detail) of failures

    # Each receipt on its own: signature, signer, name, its archive.
    signers = {r.signer for r in runs if r.signer}
    expected = fingerprint(trust_key) if trust_key is not None else (
        max(signers, key=lambda s: sum(r.signer == s for r in runs)) if signers else None)
    for run in runs:
        where = f"{run.path.name}"
        if run.signature_problem:
            findings.append((run.label, f"inserted: {where}: the receipt's signature does not verify "
                                        f"({run.signature_problem})"))
            continue
        if expected and run.signer != expected:
            findings.append((run.label, f"inserted: {where} is signed by {run.signer}, not by {expected}"))
        if run.chain.get("format") != CHAIN_FORMAT:
            findings.append(("history", f"inserted: {where} is an archive of this case sealed outside the run "
                                        "history (no chain link)"))
            continue
        if run.path.name != run.archive_name + RECEIPT_SUFFIX:
            findings.append((run.label, f"reordered: {where} is the receipt of {run.archive_name} (renamed)"))
        archive = folder / run.archive_name
        if not archive.is_file():
            run.archive_problem = "deleted"
            findings.append((run.label, f"deleted: {run.archive_name} is gone (its receipt {where} remains)"))
            continue
        run.archive_sha256 = sha256_file(archive)[0]
        if run.archive_sha256 != run.body["archive"]["sha256"]:
            other = by_archive_sha.get(run.archive_sha256)
            run.archive_problem = "mismatch"
            if other is not None and other is not run:
                findings.append((run.label, f"reordered: {run.archive_name} holds the archive of {other.label} "
                                            f"({other.archive_name})"))
            else:
                findings.append((run.label, f"replaced: {run.archive_name} is not the archive its receipt names "
                                            f"(sha256 {run.archive_sha256[:16]}..., receipt "
                                            f"{str(run.body['archive']['sha256'])[:16]}...)"))
    for path in archives:
        if path.name not in named:
            other = by_archive_sha.get(sha256_file(path)[0])
            what = f"a copy of {other.label} ({other.archive_name})" if other else "an archive without a receipt"
            findings.append(("history", f"inserted: {path.name} is {what}"))

    _walk(runs, findings)
    if case_root is not None:
        _against_journal(runs, Path(case_root), findings)

    chained = sorted((r for r in runs if r.chain.get("format") == CHAIN_FORMAT),
                     key=lambda r: (r.position, r.path.name))
    bad_labels = {label for label, _ in findings}
    for run in chained:
        if run.label in bad_labels:
            continue
        times = f"; TSA time {run.tsa_times[0]}" if run.tsa_times else "; receipt not time-stamped"
        link = "first of the history" if run.position == 1 else f"follows run {run.position - 1}"
        report.add(run.label, P, f"{run.archive_name}: sealed {run.body.get('sealed')}{times}; receipt signed by "
                                 f"{run.signer}; archive matches; {link}", archive=run.archive_name,
                   receipt_sha256=run.sha256, run=run.chain.get("run"))
    for label, detail in findings:
        report.add(label, F, detail)
    if not findings:
        newest = chained[-1] if chained else None
        tail = (f"; the newest is run {newest.position} ({newest.path.name}, sha256 {newest.sha256[:16]}...): "
                "a deletion of the newest run shows only against the case journal (--case) or a copy of its receipt"
                if newest and case_root is None else "")
        report.add("history", P, f"{len(chained)} run(s) of case {report.case_id}, each linked to the one before, "
                                 f"in time order{tail}")
    report.signer_fingerprint = expected
    return report


def _walk(runs: list[_Run], findings: list[tuple[str, str]]) -> None:
    """The links: positions 1..n, each naming the receipt before it, times not going backwards."""
    chained = [r for r in runs if r.chain.get("format") == CHAIN_FORMAT and not r.signature_problem]
    if not chained:
        return
    by_position: dict[int, list[_Run]] = {}
    for run in chained:
        by_position.setdefault(run.position, []).append(run)
    by_sha = {r.sha256: r for r in chained}
    top = max(by_position)
    genuine: dict[int, _Run] = {}
    for position in range(top, 0, -1):
        claims = by_position.get(position, [])
        successor = genuine.get(position + 1)
        wanted = str((successor.chain.get("previous") or {}).get("receipt_sha256")) if successor else None
        if not claims:
            if successor is not None:
                prev = successor.chain.get("previous") or {}
                findings.append((f"run {position}", f"deleted: {prev.get('archive')} and its receipt are missing "
                                                    f"(run {position + 1}'s receipt names it, sha256 "
                                                    f"{str(prev.get('receipt_sha256'))[:16]}...)"))
            else:
                findings.append((f"run {position}", "deleted: no archive holds this position"))
            continue
        pick = next((c for c in claims if c.sha256 == wanted), None) if wanted else None
        if pick is None and successor is not None:
            there = ", ".join(c.path.name for c in claims)
            findings.append((f"run {position}", f"replaced: run {position + 1}'s receipt names a predecessor with "
                                                f"sha256 {str(wanted)[:16]}..., but {there} is not it"))
            pick = claims[0]
        if pick is None:
            pick = min(claims, key=lambda c: str(c.body.get("sealed", "")))  # the newest: no later run names it
        for other in claims:
            if other is not pick:
                findings.append((f"run {position}", f"inserted: {other.path.name} also claims position {position} "
                                                    f"(the history holds {pick.path.name} there)"))
        genuine[position] = pick
    first = genuine.get(1)
    if first is not None and first.chain.get("previous"):
        prev = first.chain["previous"]
        findings.append(("run 1", f"deleted: the first run here names an earlier one, {prev.get('archive')}, which "
                                  "is missing"))
    ordered = [genuine[p] for p in sorted(genuine)]
    for before, after in itertools.pairwise(ordered):
        link = (after.chain.get("previous") or {}).get("receipt_sha256")
        if after.position == before.position + 1 and link not in by_sha and link != before.sha256:
            continue  # reported above as replaced
        if str(before.body.get("sealed", "")) > str(after.body.get("sealed", "")) or (
                before.tsa_times and after.tsa_times and before.tsa_times[0] > after.tsa_times[0]):
            findings.append((after.label, f"reordered: {after.path.name} was sealed before run {before.position} "
                                          f"({before.path.name}) but follows it"))
        if int(after.chain.get("run") or 0) <= int(before.chain.get("run") or 0):
            findings.append((after.label, f"reordered: {after.path.name} records case run {after.chain.get('run')}, "
                                          f"not after run {before.chain.get('run')} of {before.path.name}"))


def _against_journal(runs: list[_Run], case_root: Path, findings: list[tuple[str, str]]) -> None:
    """Every seal the case journal recorded must be in the folder, as recorded."""
    seals = journal_seals(case_root)
    if not seals:
        findings.append(("case journal", f"{case_root}: the case journal records no sealed run"))
        return
    present = {r.sha256: r for r in runs}
    recorded = {str(record.get("receipt_sha256")) for record in seals}
    for run in runs:
        if run.chain.get("format") == CHAIN_FORMAT and run.sha256 not in recorded:
            findings.append((run.label, f"inserted: {run.path.name} is not a seal the case journal recorded"))
    for record in seals:
        if record.get("receipt_sha256") not in present:
            sha = str(record.get("receipt_sha256"))[:16]
            findings.append((f"run {record.get('position')}", f"deleted: the case journal records "
                                                              f"{record.get('receipt')} (sha256 {sha}...) as sealed; "
                                                              "the folder does not hold it"))
