"""Seal a case folder: BagIt bag -> Ed25519 signature -> RFC 3161 time-stamps -> tar -> age.

One pass over the evidence: each file is read once, hashed (SHA-256 and SHA-512, on two
threads) and handed to the tar stream that the encryptor pulls; the tag files follow the
payload inside the same stream. Memory does not grow with the case. The archive and the receipt
are written under partial names and published only when both are complete (:mod:`.output`):
a failure, a signal or a kill leaves nothing under the output names.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from cryptography import x509

from evidence_kit import __version__
from evidence_kit.case.case import case_lock, load_case_info, require_beginning
from evidence_kit.case.commitments import describe_derivation
from evidence_kit.case.journal import JOURNAL_NAME, check_journal, read_entries
from evidence_kit.errors import CaseError, EvidenceKitError, UsageError, machine_error
from evidence_kit.seal import archive, bag, encrypt, keys, receipt, sign
from evidence_kit.seal import output as output_files
from evidence_kit.seal.age.recipients import DEFAULT_SCRYPT_LOG_N
from evidence_kit.seal.age.stream import HashingWriter
from evidence_kit.seal.archive import FileDigest, UnsafeArchive
from evidence_kit.seal.model import (
    BAG_INFO,
    BAGIT_TXT,
    COMMITMENTS,
    DATA_DIR,
    INFO_CASE_ID,
    INFO_JOURNAL_ENTRIES,
    INFO_JOURNAL_HEAD,
    INFO_SEALED,
    INFO_TIMESTAMPED,
    INFO_TOOL_VERSION,
    MANIFESTS,
    RECEIPT_FORMAT,
    SIGNATURE,
    SIGNED_FILE,
    SIGNER_PEM,
    TAGMANIFESTS,
    SealResult,
    receipt_path,
    tsr_name,
)
from evidence_kit.seal.timestamp import TimestampProblem
from evidence_kit.seal.timestamp import request as tsa_request


class TimestampFailed(EvidenceKitError):
    """A configured TSA did not give a usable time-stamp; the seal is abandoned."""


@dataclass
class SealOptions:
    case_dir: Path
    output: Path
    sign_key: Path
    recipients: list[str] = field(default_factory=list)
    passphrase: bytes | None = None
    tsa_urls: list[str] = field(default_factory=list)
    tsa_roots: list[x509.Certificate] = field(default_factory=list)
    scrypt_log_n: int = DEFAULT_SCRYPT_LOG_N
    ignore_case_recipients: bool = False
    tsa_timeout: float = 30.0
    # A scheduled run's link to the run before it (evidence_kit/schedule/chain.py): signed and
    # time-stamped in the receipt as "chain"; None for a seal outside a history.
    chain: dict[str, Any] | None = None


@dataclass
class _Plan:
    info: dict[str, Any]
    case_id: str
    journal_head: str
    journal_entries: int
    artifacts: dict[str, tuple[str, int]]  # case-relative path -> (sha256, size) named by the journal
    commitments: list[dict[str, Any]]
    dirs: list[str]
    files: list[str]  # case-relative, sorted
    unjournaled: list[str]


def plan(case_dir: Path) -> _Plan:
    """Everything decided before a byte is written: refuses a case that cannot be sealed."""
    case_dir = Path(case_dir)
    info = load_case_info(case_dir)
    journal = case_dir / JOURNAL_NAME
    check = check_journal(journal)
    if not check.ok:
        raise CaseError(f"{journal}: journal chain broken at {check.describe()}; refusing to seal")
    if check.torn_tail_bytes:
        raise CaseError(f"{journal}: a torn final line of {check.torn_tail_bytes} bytes follows entry "
                        f"{check.entries} (a capture was interrupted); open the case again to set it aside")
    require_beginning(case_dir, info, check.entries, "; nothing was sealed")  # else it seals, then fails verify
    artifacts: dict[str, tuple[str, int]] = {}
    commitments: list[dict[str, Any]] = []
    for entry in read_entries(journal):
        art = entry.get("artifact")
        if isinstance(art, dict):
            artifacts[str(art["path"])] = (str(art["sha256"]), int(art["size"]))
        if entry.get("event") == "credential_commitment":
            data = entry.get("data") or {}
            commitments.append({"seq": entry["seq"], "target": entry["target"], "field": data.get("field"),
                                "scheme": data.get("scheme"), "commitment": data.get("commitment")})
    dirs: list[str] = []
    files: list[str] = []
    for current, dirnames, filenames in os.walk(case_dir):
        dirnames.sort()
        rel_dir = os.path.relpath(current, case_dir)
        for name in sorted(dirnames):
            full = Path(current) / name
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if full.is_symlink():
                raise CaseError(f"{full}: symbolic link in the case folder; evidence must be regular files")
            dirs.append(rel)
        for name in sorted(filenames):
            full = Path(current) / name
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                raise CaseError(f"{full}: not a regular file (link, device or socket) in the case folder")
            try:
                archive.check_member_name(f"x/{DATA_DIR}/{rel}")
            except UnsafeArchive:
                raise CaseError(f"{full}: file name cannot be sealed safely (control characters or too long)")
            files.append(rel)
    present = set(files)
    for path in sorted(artifacts):
        if path not in present:
            raise CaseError(f"{case_dir / path}: named by the journal but missing; refusing to seal")
    unjournaled = [f for f in files if f not in artifacts and f != JOURNAL_NAME]
    return _Plan(info, str(info["case_id"]), check.head, check.entries, artifacts, commitments, dirs,
                 sorted(files), unjournaled)


def seal(options: SealOptions) -> SealResult:
    """Seal ``options.case_dir`` into ``options.output`` and its receipt: both complete, or neither.

    Raises :class:`~evidence_kit.seal.output.SealInterrupted` on SIGINT / SIGTERM and a
    :class:`~evidence_kit.errors.MachineError` when the output folder is full, read-only or not
    writable; in every failure nothing is left under the output names (docs/sealing.md).
    """
    output = Path(options.output)
    rpath = receipt_path(output)
    for path in (output, rpath):
        if path.exists():
            raise UsageError(f"{path}: already exists; a sealed archive is never overwritten")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: output folder does not exist")
    signing_key = keys.load_signing_key(options.sign_key)
    if not Path(options.case_dir).is_dir():
        raise CaseError(f"{options.case_dir}: not a case folder (not found)")
    # A shared lock: refused while a capture writes into the case, held while we read it.
    with output_files.interruptible() as guard, case_lock(Path(options.case_dir), shared=True):
        return _seal(options, output, rpath, signing_key, guard)


def _recipients(options: SealOptions, the_plan: _Plan) -> tuple[list[Any], list[str]]:
    """(pyrage recipient objects, their string forms); both empty for a passphrase archive."""
    case_recipients = [] if options.ignore_case_recipients else [
        str(r) for r in the_plan.info.get("recipients") or []]
    if options.passphrase is not None:
        if options.recipients:
            raise UsageError("--passphrase cannot be combined with --recipient: an age file encrypted to a "
                             "passphrase has exactly one (scrypt) recipient")
        if case_recipients:
            raise UsageError("the case lists recipients (the client must always be one); a passphrase archive "
                             "cannot include them. Seal to the recipients, or pass --ignore-case-recipients")
        if not options.passphrase:
            raise UsageError("the passphrase is empty")
        return [], []
    wanted = list(dict.fromkeys([*case_recipients, *options.recipients]))
    if not wanted:
        raise UsageError("no recipient: give --recipient (or --passphrase)")
    extra = [r for r in options.recipients if r not in case_recipients]
    if case_recipients and extra and not the_plan.info.get("authorization"):
        # DESIGN: the client is always a recipient; anyone else (a new provider) needs the
        # client's written authorization attached to the case.
        raise UsageError(
            f"--recipient {extra[0][:24]}... is not one of the case's (client) recipients; sealing for "
            "anyone else needs the client's written authorization in the case (inventory case.authorization)"
        )
    return keys.load_recipients(wanted)


def _seal(options: SealOptions, output: Path, rpath: Path, signing_key: Any,
          guard: output_files.SignalGuard) -> SealResult:
    the_plan = plan(options.case_dir)
    recipient_objs, recipient_texts = _recipients(options, the_plan)
    for final in (output, rpath):
        output_files.remove_stale(final)
    state: dict[str, Any] = {}
    pool = ThreadPoolExecutor(1, thread_name_prefix="sha512")
    partials: list[output_files.PartialFile] = []
    try:
        archive_file = output_files.PartialFile(output, "sealed archive")
        partials.append(archive_file)
        out = HashingWriter(archive_file.file)
        try:
            encrypt.encrypt_stream(_stream(the_plan, options, signing_key, pool, state), cast(IO[bytes], out),
                                   recipient_objs, options.passphrase, options.scrypt_log_n, recipient_texts)
        except OSError as exc:  # the case files are read in _stream, which names them itself
            raise output_files.refused(exc, output, "writing the sealed archive") from exc
        archive_file.complete()

        signer_fpr = keys.fingerprint(signing_key.public_key())
        doc = _receipt(options, the_plan, output, out, signer_fpr, recipient_texts, signing_key, state)
        receipt_file = output_files.PartialFile(rpath, "receipt")
        partials.append(receipt_file)
        try:
            receipt_file.file.write(json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n")
        except OSError as exc:
            raise output_files.refused(exc, rpath, "writing the receipt") from exc
        receipt_file.complete()
        guard.hold()  # from here on the seal completes: a signal no longer abandons it
        output_files.publish(partials, output.parent)
    finally:
        for partial in partials:
            partial.discard()
        pool.shutdown(wait=True)

    warnings = list(state.get("warnings", []))
    if not options.tsa_urls:
        warnings.insert(0, "no --tsa given: sealed WITHOUT trusted time (the signature's time is the signer's word)")
    if the_plan.unjournaled:
        warnings.append(f"{len(the_plan.unjournaled)} file(s) in the case folder are not named by the journal "
                        f"(sealed as they are): {', '.join(the_plan.unjournaled[:5])}")
    return SealResult(
        archive=str(output), receipt=str(rpath), case_id=the_plan.case_id, size=out.size,
        sha256=out.sha256.hexdigest(), signer_fingerprint=signer_fpr, recipients=recipient_texts,
        passphrase=options.passphrase is not None, timestamps=state.get("timestamps", []),
        files=len(the_plan.files), payload_bytes=state.get("payload_bytes", 0), warnings=warnings,
    )


def _receipt(options: SealOptions, the_plan: _Plan, output: Path, out: HashingWriter, signer_fpr: str,
             recipient_texts: list[str], signing_key: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The signed receipt of the archive just written; a TSA that fails here only warns (the
    archive's own time-stamp, inside the bag, already succeeded)."""
    body = {
        "format": RECEIPT_FORMAT,
        "archive": {"name": output.name, "size": out.size, "sha256": out.sha256.hexdigest()},
        "case_id": the_plan.case_id,
        "sealed": _now(),
        "signer": {"fingerprint": signer_fpr, "public_key_pem": keys.public_pem(signing_key.public_key()).decode()},
        "bag": {"name": the_plan.case_id, "tagmanifest_sha256": state["tagmanifest_sha256"],
                "journal_head": the_plan.journal_head},
        "encryption": {"passphrase": options.passphrase is not None, "recipients": recipient_texts},
        "tool": {"name": "evidence-kit", "version": __version__},
    }
    if options.chain is not None:
        body["chain"] = options.chain
    receipt_sig = receipt.signature_of(body, signing_key)
    receipt_stamps = []
    for url in options.tsa_urls:
        try:
            der, _ = tsa_request(url, receipt_sig, timeout=options.tsa_timeout, roots=options.tsa_roots or None)
        except TimestampProblem as exc:
            state.setdefault("warnings", []).append(f"receipt time-stamp from {url} failed: {exc}")
            continue
        receipt_stamps.append((url, der))
    return receipt.build(body, signing_key, receipt_stamps)


def _stream(the_plan: _Plan, options: SealOptions, signing_key: Any, pool: ThreadPoolExecutor,
            state: dict[str, Any]) -> Iterator[bytes]:
    """The tar stream of the bag, block by block. A case file the machine refuses to read is
    named in one line (an ``OSError`` here is never the output's)."""
    try:
        yield from _stream_inner(the_plan, options, signing_key, pool, state)
    except OSError as exc:
        err = machine_error(exc, exc.filename, "reading the case folder", "nothing was sealed")
        if err is None:
            raise CaseError(f"{exc.filename or options.case_dir}: cannot be read ({exc.strerror or exc}); "
                            "nothing was sealed") from exc
        raise err from exc


def _stream_inner(the_plan: _Plan, options: SealOptions, signing_key: Any, pool: ThreadPoolExecutor,
                  state: dict[str, Any]) -> Iterator[bytes]:
    root = the_plan.case_id
    now = int(_dt.datetime.now(_dt.UTC).timestamp())
    case_dir = Path(options.case_dir)
    digests: dict[str, FileDigest] = {}
    yield archive.dir_member(root, now)
    yield archive.dir_member(f"{root}/{DATA_DIR}", now)
    for rel in the_plan.dirs:
        yield archive.dir_member(f"{root}/{DATA_DIR}/{rel}", int(os.lstat(case_dir / rel).st_mtime))
    for rel in the_plan.files:
        def done(d: FileDigest, rel: str = rel) -> None:
            digests[f"{DATA_DIR}/{rel}"] = d
        yield from archive.file_member(f"{root}/{DATA_DIR}/{rel}", case_dir / rel, pool, done)
    # The bytes just sealed must be the ones the journal names.
    for path, (sha, size) in sorted(the_plan.artifacts.items()):
        got = digests[f"{DATA_DIR}/{path}"]
        if got.sha256 != sha or got.size != size:
            raise CaseError(f"{case_dir / path}: does not match the hash the journal recorded for it "
                            "(changed after capture); refusing to seal")
    state["payload_bytes"] = sum(d.size for d in digests.values())

    info = the_plan.info
    sealed_at = _dt.datetime.now(_dt.UTC)
    fields = [
        ("Source-Organization", str(info.get("provider", ""))),
        ("Contact-Name", str(info.get("technician", ""))),
        ("External-Description", f"{info.get('client', '')}: {info.get('purpose', '')}"),
        ("External-Identifier", the_plan.case_id),
        ("Bagging-Date", sealed_at.strftime("%Y-%m-%d")),
        ("Payload-Oxum", f"{state['payload_bytes']}.{len(digests)}"),
        ("Bag-Software-Agent", f"evidence-kit {__version__}"),
        (INFO_CASE_ID, the_plan.case_id),
        (INFO_JOURNAL_HEAD, the_plan.journal_head),
        (INFO_JOURNAL_ENTRIES, str(the_plan.journal_entries)),
        (INFO_TOOL_VERSION, __version__),
        (INFO_TIMESTAMPED, "yes" if options.tsa_urls else "no"),
        (INFO_SEALED, sealed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    ]
    tag_files: dict[str, bytes] = {
        BAGIT_TXT: bag.BAGIT_TXT_BODY,
        BAG_INFO: bag.bag_info(fields),
        MANIFESTS[0]: bag.manifest(digests, "sha256"),
        MANIFESTS[1]: bag.manifest(digests, "sha512"),
        COMMITMENTS: json.dumps({
            "case_id": the_plan.case_id,
            "parameters": info.get("commitments"),
            "derivation": describe_derivation(str((info.get("commitments") or {}).get("scheme"))),
            "credentials": the_plan.commitments,
        }, indent=2, sort_keys=True).encode() + b"\n",
    }
    tag_digests = {name: bag.digest_bytes(data) for name, data in tag_files.items()}
    tag_files[TAGMANIFESTS[0]] = bag.manifest(tag_digests, "sha256")
    tag_files[TAGMANIFESTS[1]] = bag.manifest(tag_digests, "sha512")
    signed = tag_files[SIGNED_FILE]
    signature = sign.sign(signing_key, signed)
    tag_files[SIGNATURE] = signature
    tag_files[SIGNER_PEM] = keys.public_pem(signing_key.public_key())
    state["tagmanifest_sha256"] = bag.digest_bytes(signed).sha256
    stamps = []
    for index, url in enumerate(options.tsa_urls, start=1):
        try:
            der, stamp = tsa_request(url, signature, timeout=options.tsa_timeout, roots=options.tsa_roots or None)
        except TimestampProblem as exc:
            raise TimestampFailed(f"time-stamp from {url}: {exc}; nothing was sealed")
        tag_files[tsr_name(index)] = der
        stamps.append({"tsa": url, "file": tsr_name(index), "time": stamp.gen_time, "tsa_name": stamp.tsa_subject,
                       "serial": stamp.serial, "certificate_set_resorted_to_parse": stamp.normalized})
    state["timestamps"] = stamps
    for name, data in tag_files.items():
        yield from archive.bytes_member(f"{root}/{name}", data, now)
    yield archive.end_of_archive()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
