"""Verify (and extract) a sealed archive: every check, each reported passed / failed / not checked.

The archive is decrypted as a stream and extracted with strict member safety into a folder
(a temporary one for ``verify``, the user's for ``extract``) while every file is hashed; all
later checks read that folder and those digests, so nothing is trusted that was not re-checked:

``decrypt``      age: header MAC, every payload chunk, no truncation
``archive``      tar member safety (paths, types, sizes, duplicates)
``bag``          BagIt: bagit.txt, both payload manifests complete and matching, Payload-Oxum,
                 both tag manifests, every tag file covered by the signed tag manifest
``signature``    Ed25519 over tagmanifest-sha256.txt by signer-public.pem
``signer``       the signer is the expected one (``--trust-key``), else its fingerprint is shown
``timestamp N``  the N-th RFC 3161 response: status, imprint over the signature file, time
``timestamp N trust``  its signature, critical timeStamping usage and chain to ``--tsa-ca``
``journal``      hash chain, head and length as recorded in bag-info, every artifact present
                 with the hash the journal recorded
``checkpoints``  the capture's RFC 3161 checkpoints (seal/checkpoints.py): each token over an
                 entry of the chain, its trust (``checkpoints trust``), and which target logins
                 lack one (``checkpoint coverage``)
``receipt``      the archive is the one the signed receipt names
``credential``   a secret given matches the commitment recorded for a target
"""

from __future__ import annotations

import json
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence_kit.case.artifacts import sha256_file
from evidence_kit.case.commitments import CommitmentParams, matches
from evidence_kit.case.journal import JOURNAL_NAME, check_journal, read_entries
from evidence_kit.errors import ArchiveError, UsageError, WrongKeyError
from evidence_kit.seal import archive, bag, encrypt, receipt, sign
from evidence_kit.seal.age.format import AgeFormatError, AgeNoMatch
from evidence_kit.seal.archive import Extracted, UnsafeArchive
from evidence_kit.seal.keys import fingerprint
from evidence_kit.seal.model import (
    DATA_DIR,
    INFO_CASE_ID,
    INFO_JOURNAL_ENTRIES,
    INFO_JOURNAL_HEAD,
    INFO_TIMESTAMPED,
    SIGNATURE,
    SIGNED_FILE,
    SIGNER_PEM,
    TSR_PATTERN,
    Status,
    Verification,
    receipt_path,
)
from evidence_kit.seal.timestamp import TimestampProblem, check_response

P, F, N = Status.PASSED, Status.FAILED, Status.NOT_CHECKED


@dataclass
class CredentialQuery:
    target: str
    secret: str
    field: str | None = None


@dataclass
class VerifyOptions:
    archive: Path
    identities: list[Any] = field(default_factory=list)
    passphrase: bytes | None = None
    trust_key: Ed25519PublicKey | None = None
    tsa_roots: list[x509.Certificate] = field(default_factory=list)
    receipt: Path | None = None
    auto_receipt: bool = True
    credential: CredentialQuery | None = None
    max_member: int | None = None
    workdir: Path | None = None


def verify(options: VerifyOptions) -> Verification:
    """Check everything in a temporary folder that is removed afterwards."""
    _require_archive(options.archive)
    tmp = Path(tempfile.mkdtemp(prefix="evidence-kit-verify-", dir=options.workdir))
    try:
        return _run(options, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extract(options: VerifyOptions, dest: Path) -> Verification:
    """Extract into ``dest`` (absent or empty) with the same safety rules, and check it."""
    _require_archive(options.archive)
    dest = Path(dest)
    if dest.exists():
        if not dest.is_dir() or dest.is_symlink():
            raise UsageError(f"{dest}: exists and is not a folder")
        if any(dest.iterdir()):
            raise UsageError(f"{dest}: folder is not empty; extract needs a new or empty folder")
    else:
        dest.mkdir(parents=True)
    report = _run(options, dest)
    return report


def _require_archive(path: Path) -> None:
    if not Path(path).is_file():
        raise ArchiveError(f"{path}: no such archive file")


def find_receipt(options: VerifyOptions) -> Path | None:
    """The receipt to check: the one given (it must exist), else ARCHIVE.receipt.json if present."""
    if options.receipt is not None:
        if not Path(options.receipt).is_file():
            raise UsageError(f"{options.receipt}: no such receipt file")
        return Path(options.receipt)
    if options.auto_receipt:
        candidate = receipt_path(Path(options.archive))
        if candidate.is_file():
            return candidate
    return None


def _receipt_sha(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        value = json.loads(path.read_bytes())["receipt"]["archive"]["sha256"]
        return str(value)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _run(options: VerifyOptions, dest: Path) -> Verification:
    report = Verification(archive=str(options.archive))
    archive_path = Path(options.archive)
    archive_size = archive_path.stat().st_size
    receipt_file = find_receipt(options)
    try:
        dec = encrypt.open_decryption(archive_path, options.identities, options.passphrase)
    except AgeNoMatch as exc:
        actual, size = sha256_file(archive_path)
        expected = _receipt_sha(receipt_file)
        if receipt_file is not None and expected is not None and expected != actual:
            report.add("decrypt", F, f"cannot open the archive, and it is not the archive its receipt names: "
                                      f"changed since sealing ({exc})")
            _receipt_check(report, receipt_file, size, actual, None, None, None, options)
            _rest_not_checked(report, "the archive could not be decrypted")
            return report
        raise WrongKeyError(f"this identity cannot open this archive ({exc})")
    except AgeFormatError as exc:
        report.add("decrypt", F, f"not a valid age file: {exc}")
        actual, size = sha256_file(archive_path)
        if receipt_file is not None:
            _receipt_check(report, receipt_file, size, actual, None, None, None, options)
        _rest_not_checked(report, "the archive could not be decrypted")
        return report

    extracted: Extracted | None = None
    archive_problem: str | None = None
    decrypt_problem: str | None = None
    pool = ThreadPoolExecutor(1, thread_name_prefix="sha512")
    try:
        try:
            extracted = archive.safe_extract(dec.reader, dest, archive_size, options.max_member, pool)
        except UnsafeArchive as exc:
            archive_problem = f"refused: {exc.one_line()}"
        except AgeFormatError as exc:
            decrypt_problem = str(exc)
        except ArchiveError as exc:
            archive_problem = exc.one_line()
        except OSError as exc:
            dec.close()
            raise ArchiveError(f"{dest}: cannot write the extracted files ({exc.strerror or exc})")
        try:
            dec.finish()
        except AgeFormatError as exc:
            decrypt_problem = decrypt_problem or str(exc)
        except OSError as exc:
            decrypt_problem = decrypt_problem or f"reading the archive failed ({exc})"
    finally:
        dec.close()
        pool.shutdown(wait=True)
    actual_sha, actual_size = dec.source.sha256.hexdigest(), dec.source.size

    if decrypt_problem:
        report.add("decrypt", F, decrypt_problem)
    else:
        kind = "passphrase (scrypt)" if dec.header is not None and dec.header.is_scrypt else "identity"
        report.add("decrypt", P, f"age {kind}: header MAC and every payload chunk authenticated",
                   ciphertext_sha256=actual_sha, size=actual_size)
    if archive_problem:
        report.add("archive", F, archive_problem)
    elif decrypt_problem:
        report.add("archive", N, "the archive could not be fully decrypted")
    elif extracted is not None:
        report.add("archive", P, f"{len(extracted.files)} files, every member safe (no links, devices, "
                                 "absolute or '..' paths)")
    if decrypt_problem or archive_problem or extracted is None:
        if receipt_file is not None:
            _receipt_check(report, receipt_file, actual_size, actual_sha, None, None, None, options)
        _rest_not_checked(report, "the archive content could not be read safely")
        return report

    root = extracted.root
    report.extracted_to = str(root)
    files = extracted.files
    info = _check_bag(report, root, files)
    signer_fpr, signature = _check_signature(report, root, files, options)
    _check_timestamps(report, root, files, signature, info, options)
    case_id = _check_journal(report, root, files, info, extracted.bag_name)
    report.case_id = case_id
    if case_id is not None:  # the chain is intact: its checkpoints can be read (seal/checkpoints.py)
        from evidence_kit.seal import checkpoints

        checkpoints.add_checks(report, checkpoints.analyse(root / DATA_DIR / JOURNAL_NAME, options.tsa_roots))
    tag_sha = files[SIGNED_FILE].sha256 if SIGNED_FILE in files else None
    if receipt_file is not None:
        _receipt_check(report, receipt_file, actual_size, actual_sha, signer_fpr, case_id, tag_sha, options)
    else:
        report.add("receipt", N, "no receipt given or found beside the archive")
    if options.credential is not None:
        _check_credential(report, root, files, options.credential)
    return report


def _rest_not_checked(report: Verification, why: str) -> None:
    have = {c.name for c in report.checks}
    for name in ("archive", "bag", "signature", "signer", "timestamp", "journal", "receipt"):
        if name not in have:
            report.add(name, N, why)


def _check_bag(report: Verification, root: Path, files: dict[str, archive.FileDigest]) -> dict[str, str]:
    try:
        info, summary = bag.check_bag(root, files)
    except bag.BagProblem as exc:
        report.add("bag", F, str(exc))
        try:
            return bag.parse_bag_info((root / "bag-info.txt").read_bytes()) if "bag-info.txt" in files else {}
        except OSError:
            return {}
    report.add("bag", P, f"BagIt 1.0: {summary}")
    return info


def _check_signature(report: Verification, root: Path, files: dict[str, archive.FileDigest],
                     options: VerifyOptions) -> tuple[str | None, bytes | None]:
    missing = [n for n in (SIGNED_FILE, SIGNATURE, SIGNER_PEM) if n not in files]
    if missing:
        report.add("signature", F, f"{missing[0]} is missing")
        report.add("signer", N, "no signature to attribute")
        return None, None
    signature = (root / SIGNATURE).read_bytes()
    try:
        public = sign.load_signer((root / SIGNER_PEM).read_bytes())
        sign.verify(public, (root / SIGNED_FILE).read_bytes(), signature)
    except sign.SignatureProblem as exc:
        report.add("signature", F, str(exc))
        report.add("signer", N, "the signature does not verify")
        return None, signature
    fpr = fingerprint(public)
    report.signer_fingerprint = fpr
    report.add("signature", P, f"Ed25519 signature over {SIGNED_FILE} verifies; signer {fpr}", signer=fpr)
    if options.trust_key is None:
        report.add("signer", N, f"no --trust-key given: check that the signer {fpr} is the one you expect")
    elif fingerprint(options.trust_key) == fpr:
        report.add("signer", P, f"signed by the trusted key {fpr}")
    else:
        report.add("signer", F, f"signed by {fpr}, not by the trusted key {fingerprint(options.trust_key)}")
    return fpr, signature


def _tsr_files(files: dict[str, archive.FileDigest]) -> list[tuple[int, str]]:
    found = []
    for name in files:
        m = TSR_PATTERN.match(name)
        if m:
            found.append((int(m.group(1) or 1), name))
    return sorted(found)


def _check_timestamps(report: Verification, root: Path, files: dict[str, archive.FileDigest], signature: bytes | None,
                      info: dict[str, str], options: VerifyOptions) -> None:
    tsrs = _tsr_files(files)
    declared = info.get(INFO_TIMESTAMPED)
    if not tsrs:
        if declared == "yes":
            report.add("timestamp", F, "bag-info.txt says the seal was time-stamped, but no time-stamp is present")
        else:
            report.add("timestamp", N, "sealed without trusted time (no --tsa at seal): the time is the signer's word")
        return
    if signature is None:
        report.add("timestamp", N, "no signature file to check the time-stamps against")
        return
    for number, (index, name) in enumerate(tsrs, start=1):
        label = f"timestamp {index}"
        if index != number:
            report.add(label, F, f"time-stamp files are not numbered 1..n ({name})")
            continue
        try:
            stamp = check_response((root / name).read_bytes(), signature, roots=options.tsa_roots or None)
        except TimestampProblem as exc:
            report.add(label, F, f"{name}: {exc}")
            report.add(f"{label} trust", N, "the time-stamp itself failed")
            continue
        note = " (certificate set re-sorted to parse it; file unchanged)" if stamp.normalized else ""
        report.add(label, P, f"time {stamp.gen_time} by {stamp.tsa_subject or 'an unnamed TSA'}; imprint matches "
                             f"the signature file{note}", time=stamp.gen_time, tsa=stamp.tsa_subject, file=name)
        if stamp.verified:
            report.add(f"{label} trust", P, "token signature, critical timeStamping usage and chain to --tsa-ca verify")
        else:
            report.add(f"{label} trust", N, "no --tsa-ca given: the TSA's signature and identity were not checked")


def _check_journal(report: Verification, root: Path, files: dict[str, archive.FileDigest], info: dict[str, str],
                   bag_name: str | None) -> str | None:
    journal = root / DATA_DIR / JOURNAL_NAME
    if f"{DATA_DIR}/{JOURNAL_NAME}" not in files:
        report.add("journal", F, f"{DATA_DIR}/{JOURNAL_NAME} is missing")
        return None
    check = check_journal(journal)
    if not check.ok:
        report.add("journal", F, f"chain broken at {check.describe()}")
        return None
    problems: list[str] = []
    if check.torn_tail_bytes:
        problems.append(f"{check.torn_tail_bytes} bytes follow the last entry")
    if info.get(INFO_JOURNAL_HEAD) != check.head:
        problems.append(f"head {check.head[:16]} is not the sealed head {str(info.get(INFO_JOURNAL_HEAD))[:16]} "
                        "(entries removed or added at the end)")
    if info.get(INFO_JOURNAL_ENTRIES) != str(check.entries):
        problems.append(f"{check.entries} entries, {info.get(INFO_JOURNAL_ENTRIES)} were sealed")
    named = 0
    case_id: str | None = None
    try:
        for entry in read_entries(journal):
            if entry.get("event") == "case_created" and isinstance(entry.get("data"), dict):
                case_id = str(entry["data"].get("case_id"))
            art = entry.get("artifact")
            if not isinstance(art, dict):
                continue
            named += 1
            rel = f"{DATA_DIR}/{art.get('path')}"
            got = files.get(rel)
            if got is None:
                problems.append(f"entry {entry['seq']} names {art.get('path')}, which is missing")
            elif got.sha256 != art.get("sha256") or got.size != art.get("size"):
                problems.append(f"entry {entry['seq']}: {art.get('path')} does not match its recorded hash")
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"unreadable entry ({type(exc).__name__})")
    ids = {case_id, info.get(INFO_CASE_ID), bag_name}
    if len(ids) != 1:
        problems.append(f"case ids disagree (journal {case_id!r}, bag-info {info.get(INFO_CASE_ID)!r}, "
                        f"folder {bag_name!r})")
    if problems:
        report.add("journal", F, problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    else:
        report.add("journal", P, f"{check.entries} entries, chain intact up to the sealed head {check.head[:16]}; "
                                 f"all {named} artifacts present with their recorded hashes")
    return case_id


def _receipt_check(report: Verification, path: Path, size: int, sha: str, signer: str | None, case_id: str | None,
                   tag_sha: str | None, options: VerifyOptions) -> None:
    try:
        result = receipt.check(path, size, sha, signer, case_id, tag_sha, options.tsa_roots or None)
    except receipt.ReceiptProblem as exc:
        report.add("receipt", F, f"{path.name}: {exc}")
        return
    times = f"; time-stamped {', '.join(result.timestamps)}" if result.timestamps else "; not time-stamped"
    report.add("receipt", P, result.detail + times)


def _check_credential(report: Verification, root: Path, files: dict[str, archive.FileDigest],
                      query: CredentialQuery) -> None:
    try:
        case_info = json.loads((root / DATA_DIR / "case.json").read_bytes())
        params = CommitmentParams.from_case(case_info)
    except (OSError, ValueError, KeyError, TypeError):
        report.add("credential", F, "case.json holds no usable commitment parameters")
        return
    found = []
    for entry in read_entries(root / DATA_DIR / JOURNAL_NAME):
        if entry.get("event") == "credential_commitment" and entry.get("target") == query.target:
            data = entry.get("data") or {}
            if query.field is None or data.get("field") == query.field:
                found.append(data)
    if not found:
        report.add("credential", F, f"no credential commitment recorded for target {query.target!r}"
                                    + (f" field {query.field!r}" if query.field else ""))
        return
    for data in found:
        if matches(params, query.secret, query.target, str(data.get("field")), str(data.get("commitment"))):
            report.add("credential", P, f"the secret given is the {data.get('field')} tested on {query.target!r}")
            return
    report.add("credential", F, f"the secret given is NOT the one tested on {query.target!r}")

