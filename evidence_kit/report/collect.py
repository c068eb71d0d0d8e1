"""Read a verified, extracted archive into :class:`~evidence_kit.report.model.ReportData`.

Input: the :class:`~evidence_kit.seal.model.Verification` that ``verify``'s own code produced while
extracting (the report never re-implements a check) and the bag folder it extracted. Only
files that the verification read and hashed are opened here; when verification could not
read the content safely, the report carries the verification table and nothing else.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evidence_kit import __version__
from evidence_kit.case.journal import JOURNAL_NAME, iter_entries
from evidence_kit.report import images
from evidence_kit.report.images import ImageRef
from evidence_kit.report.model import (
    Artifact,
    Authorization,
    CertificateView,
    CheckRow,
    Command,
    Commitment,
    Event,
    ReportData,
    Screenshot,
    TargetView,
    Transcript,
    TranscriptLine,
    TrustedTime,
    VersionRow,
)
from evidence_kit.report.terminal import render_cast, render_text, visible
from evidence_kit.seal.model import (
    BAG_INFO,
    COMMITMENTS,
    DATA_DIR,
    INFO_SEALED,
    SIGNATURE,
    SIGNED_FILE,
    SIGNER_PEM,
    Status,
    Verification,
)

MAX_TRANSCRIPT_LINES = 5000  # per transcript; the full file is in the archive and the appendix
MAX_TEXT_BYTES = 4 << 20
MAX_CAST_BYTES = 64 << 20
MAX_SUMMARY = 600
TEXT_KINDS = ("banner", "ldap_transcript", "transcript")
FAILURE_EVENTS = re.compile(r"(_failed|_dropped|_error|mismatch|timeout|refused|unsupported)$")


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def inside(payload: Path, rel: str) -> Path | None:
    """``payload/rel`` if it names a regular file inside the case folder, else None.

    A journal that failed verification may name any path (``../../home/...``, ``/etc/...``):
    the report never reads a file outside the extracted case.
    """
    if not rel or rel.startswith(("/", "\\")) or "\x00" in rel:
        return None
    parts = Path(rel).parts
    if ".." in parts:
        return None
    path = payload / rel
    try:
        resolved = path.resolve(strict=True)
        if not resolved.is_relative_to(payload.resolve()) or path.is_symlink() or not resolved.is_file():
            return None
    except (OSError, RuntimeError):
        return None
    return path


def _anchor(name: str, used: set[str]) -> str:
    base = "t-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "target")
    anchor, n = base, 1
    while anchor in used:
        n += 1
        anchor = f"{base}-{n}"
    used.add(anchor)
    return anchor


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    text = visible(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(data: Any) -> str:
    """One event's data as ``key: value`` text, shortened for the timeline."""
    if not isinstance(data, dict):
        return _short(data, MAX_SUMMARY)
    parts = [f"{k}: {_short(v)}" for k, v in data.items() if v not in (None, "", [], {})]
    return _short("; ".join(parts), MAX_SUMMARY)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif value not in (None, "", [], {}):
        out.append((visible(prefix), _short(value, 400)))


def _checks(report: Verification) -> list[CheckRow]:
    return [CheckRow(c.name, c.status.value, visible(c.detail)) for c in report.checks]


def _trusted_times(report: Verification, sealed_local: str) -> list[TrustedTime]:
    local = _parse_time(sealed_local) if sealed_local else None
    trust = {c.name: c.status for c in report.checks}
    out = []
    for c in report.checks:
        m = re.fullmatch(r"timestamp (\d+)", c.name)
        if not m or c.status is not Status.PASSED:
            continue
        when = str(c.facts.get("time") or "")
        parsed = _parse_time(when)
        offset = (parsed - local).total_seconds() if parsed and local else None
        out.append(TrustedTime(
            index=int(m.group(1)), file=str(c.facts.get("file") or ""), time=when,
            tsa=visible(str(c.facts.get("tsa") or "unnamed TSA")),
            trusted=trust.get(f"{c.name} trust") is Status.PASSED, offset_seconds=offset,
        ))
    return out


def _signer_trusted(report: Verification) -> bool | None:
    for c in report.checks:
        if c.name == "signer":
            return {Status.PASSED: True, Status.FAILED: False}.get(c.status)
    return None


def _bag_info(root: Path) -> list[tuple[str, str]]:
    try:
        lines = (root / BAG_INFO).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out: list[tuple[str, str]] = []
    for line in lines:
        if line[:1].isspace() and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            k, v = line.split(":", 1)
            out.append((visible(k.strip()), visible(v.strip())))
    return out


def _derivation(root: Path) -> str:
    try:
        doc = json.loads((root / COMMITMENTS).read_bytes())
        return visible(str(doc.get("derivation") or "")) if isinstance(doc, dict) else ""
    except (OSError, ValueError):
        return ""


def _receipt_sealed(receipt: Path | None, report: Verification) -> str:
    """The signer's local seal time, from the receipt, when verify checked that receipt."""
    if receipt is None or not any(c.name == "receipt" and c.status is Status.PASSED for c in report.checks):
        return ""
    try:
        return str(json.loads(receipt.read_bytes())["receipt"]["sealed"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def verify_commands(archive_name: str, case_id: str, tsr_files: Iterable[str], fingerprint: str | None,
                    archive_sha256: str, passphrase: bool = False) -> list[Command]:
    """The standard-tool commands that re-check this archive, with its own file names."""
    bag = f"extracted/{case_id}"
    tar = f"{case_id}.tar"
    cmds = [
        Command("The archive is the one sealed (compare with the receipt and this report).",
                ["sha256sum", archive_name], archive_sha256),
        Command("Decrypt (age). With a passphrase archive, leave out -i: age asks for it."
                if not passphrase else "Decrypt (age); age asks for the passphrase.",
                ["age", "-d", "-o", tar, archive_name] if passphrase else
                ["age", "-d", "-i", "YOUR-AGE-IDENTITY.txt", "-o", tar, archive_name]),
        Command("Unpack the tar stream.", ["mkdir", "-p", "extracted"]),
        Command("", ["tar", "-xf", tar, "-C", "extracted"]),
        Command("Check the BagIt bag: every file against the SHA-256 and SHA-512 manifests.",
                ["bagit.py", "--validate", bag], "… is valid"),
        Command("The signer's fingerprint.",
                ["sh", "-c", f"openssl pkey -pubin -in {bag}/{SIGNER_PEM} -outform DER | sha256sum"],
                (fingerprint or "").removeprefix("SHA256:")),
        Command("The Ed25519 signature over the tag manifest (which lists every manifest).",
                ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", f"{bag}/{SIGNER_PEM}", "-rawin",
                 "-in", f"{bag}/{SIGNED_FILE}", "-sigfile", f"{bag}/{SIGNATURE}"], "Signature Verified Successfully"),
    ]
    for name in tsr_files:
        cmds.append(Command(f"Read the trusted time in {name}.",
                            ["openssl", "ts", "-reply", "-in", f"{bag}/{name}", "-text"], "Time stamp: …"))
        cmds.append(Command("Check that time-stamp against the TSA's root certificate.",
                            ["openssl", "ts", "-verify", "-in", f"{bag}/{name}", "-data", f"{bag}/{SIGNATURE}",
                             "-CAfile", "TSA-ROOT.pem"], "Verification: OK"))
    return cmds


# Standard library only, as in docs/verify-without-evidence-kit.md: the journal's hash chain.
JOURNAL_SCRIPT = """import hashlib, json, sys
prev = "0" * 64
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    e = json.loads(line)
    body = {k: v for k, v in e.items() if k != "hash"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode()).hexdigest()
    assert e["seq"] == n and e["prev"] == prev and digest == e["hash"], f"chain broken at entry {n}"
    prev = e["hash"]
print(f"journal: {n} entries, chain intact, head {prev}")
"""


def _tsr_names(report: Verification) -> list[str]:
    names = [str(c.facts.get("file")) for c in report.checks
             if re.fullmatch(r"timestamp \d+", c.name) and c.facts.get("file")]
    return names


def collect(report: Verification, archive: Path, archive_sha256: str, archive_size: int, paper: str = "A4",
            receipt: Path | None = None, passphrase: bool = False, compact_images: bool = False) -> ReportData:
    """Turn the verification result (and, when readable, the extracted bag) into report data."""
    root = Path(report.extracted_to) if report.extracted_to else None
    readable = root is not None and (root / DATA_DIR / "case.json").is_file() and \
        (root / DATA_DIR / JOURNAL_NAME).is_file()
    failed = [c.name for c in report.failed]
    data = ReportData(
        generated=utc_now(), tool_version=__version__, archive_name=archive.name, archive_sha256=archive_sha256,
        archive_size=archive_size, ok=report.ok, checks=_checks(report), failed_checks=failed,
        signer_fingerprint=report.signer_fingerprint, signer_trusted=_signer_trusted(report),
        case_id=visible(report.case_id or "unknown"), content_available=readable, paper=paper,
    )
    data.commands = verify_commands(archive.name, report.case_id or "CASE-ID", _tsr_names(report),
                                    report.signer_fingerprint, archive_sha256, passphrase)
    if not readable or root is None:
        data.content_note = ("The archive's content could not be read safely, so no evidence from it is shown. "
                             "Only the verification results above are reliable.")
        data.trusted_times = _trusted_times(report, "")
        return data
    if not report.ok:
        data.content_note = ("Verification FAILED. The content below is shown as it was found in the archive so "
                             "that the failure can be examined; do not rely on it as evidence.")
    _fill(data, report, root, receipt, compact_images)
    return data


def _fill(data: ReportData, report: Verification, root: Path, receipt: Path | None, compact: bool) -> None:
    payload = root / DATA_DIR
    try:
        info = json.loads((payload / "case.json").read_bytes())
    except (OSError, ValueError):
        info = {}
    info = info if isinstance(info, dict) else {}
    for key in ("client", "provider", "technician", "purpose", "created"):
        setattr(data, key, visible(str(info.get(key) or "")))
    data.bag_info = _bag_info(root)
    data.commitment_derivation = _derivation(root)
    _flatten("", info.get("capture_host") or {}, data.capture_host)
    _flatten("", info.get("clock") or {}, data.clock)
    _flatten("", info.get("commitments") or {}, data.commitment_params)

    sealed = _receipt_sealed(receipt, report)
    signed_bag = report.ok and dict(data.bag_info).get(INFO_SEALED, "")
    if sealed:
        data.sealed_local, data.sealed_local_source = sealed, "the signer's clock, from the signed receipt"
    elif signed_bag:
        sealed = signed_bag
        data.sealed_local, data.sealed_local_source = sealed, "the signer's clock, from the signed bag-info.txt"
    else:
        day = dict(data.bag_info).get("Bagging-Date", "")
        data.sealed_local = day
        data.sealed_local_source = "bag-info.txt Bagging-Date (day only; no checked receipt)" if day else ""
    data.trusted_times = _trusted_times(report, sealed)

    targets: dict[str, TargetView] = {}
    anchors: set[str] = set()
    entries = _read_journal(payload / JOURNAL_NAME, data.problems)
    data.journal_entries = len(entries)
    data.journal_head = str(entries[-1].get("hash", "")) if entries else ""
    times = [str(e.get("time")) for e in entries if e.get("time")]
    runs: set[int] = set()
    stamped: list[tuple[TargetView, dict[str, Any], Artifact]] = []
    originals: dict[str, tuple[Artifact, dict[str, Any]]] = {}
    for number, entry in enumerate(entries, start=1):
        try:
            _entry(data, entry, payload, targets, anchors, runs, stamped, originals)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            data.problems.append(f"journal entry {number} could not be read ({type(exc).__name__}); it is not shown")
    _screenshots(payload, stamped, originals, targets, compact)
    _after_entries(data, payload, targets, runs, times, info)


def _read_journal(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    """Every entry that parses; the others are named (verification already judged the chain)."""
    entries: list[dict[str, Any]] = []
    try:
        for number, raw in iter_entries(path):
            if not raw.endswith(b"\n"):
                problems.append(f"journal line {number} is torn (no end of line); it is not shown")
                continue
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = None
            if isinstance(entry, dict):
                entries.append(entry)
            else:
                problems.append(f"journal line {number} is not a JSON object; it is not shown")
    except OSError as exc:
        problems.append(f"the journal could not be read ({exc.strerror or exc})")
    return entries


def _entry(data: ReportData, entry: dict[str, Any], payload: Path, targets: dict[str, TargetView],
           anchors: set[str], runs: set[int], stamped: list[tuple[TargetView, dict[str, Any], Artifact]],
           originals: dict[str, tuple[Artifact, dict[str, Any]]]) -> None:
    name = entry.get("target")
    event = str(entry.get("event") or "")
    raw_data = entry.get("data")
    edata: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    when = str(entry.get("time") or "")
    seq = int(entry.get("seq") or 0)
    runs.add(int(entry.get("run") or 0))
    art = entry.get("artifact") if isinstance(entry.get("artifact"), dict) else None
    artifact = None
    if art is not None:
        artifact = Artifact(
            path=visible(str(art.get("path"))), target=visible(str(name)) if name else None,
            kind=visible(str(edata.get("kind") or event)), media_type=visible(str(edata.get("media_type") or "")),
            sha256=str(art.get("sha256")), size=int(art.get("size") or 0), seq=seq, time=when,
        )
        data.artifacts.append(artifact)
    if event == "run_started":
        _versions(data, edata, int(entry.get("run") or 0))
    if not name:
        return  # case-level entries: their artifacts are in data.artifacts (Appendix A)
    name = str(name)
    view = targets.get(name)
    if view is None:
        view = targets[name] = TargetView(
            name=visible(name), anchor=_anchor(name, anchors), kind=str(edata.get("kind") or ""),
            profile=visible(str(edata.get("profile") or "")), address=visible(str(edata.get("address") or "")),
            outcome="no outcome recorded", detail="", started=when, finished="",
        )
    view.events.append(Event(seq, when, int(entry.get("run") or 0), visible(event), summarize(edata),
                             artifact.path if artifact else None,
                             failure=bool(FAILURE_EVENTS.search(event)) or edata.get("result") in (
                                 "mismatch", "timeout", "failed", "refused")))
    if event == "target_started":
        view.kind = str(edata.get("kind") or view.kind)
        view.profile = visible(str(edata.get("profile") or view.profile))
        view.address = visible(str(edata.get("address") or view.address))
    elif event == "target_finished":
        view.outcome = visible(str(edata.get("outcome") or "error"))
        view.detail = visible(str(edata.get("detail") or ""))
        view.finished = when
        identity: list[tuple[str, str]] = []
        _flatten("", edata.get("identity") or {}, identity)
        view.identity = identity
        view.identity_short = _identity_short(edata.get("identity") or {})
    elif event == "credential_commitment":
        view.commitments.append(Commitment(
            view.name, visible(str(edata.get("field"))), visible(str(edata.get("scheme"))),
            visible(str(edata.get("commitment"))), seq, when))
    if artifact is None:
        return
    view.artifacts.append(artifact)
    kind = artifact.kind
    found = inside(payload, str(art.get("path"))) if art else None
    if found is None:
        view.problems.append(f"{artifact.path}: not in the case folder; not shown")
        return
    path = found
    if kind == "screenshot":
        originals[artifact.path] = (artifact, edata)
    elif kind == "screenshot_stamped":
        stamped.append((view, edata, artifact))
    elif kind == "asciicast":
        view.transcripts.append(_cast_transcript(path, artifact))
    elif kind in TEXT_KINDS:
        view.transcripts.append(_text_transcript(path, artifact))
    elif kind == "certificate_chain":
        view.certificates.extend(_certificates(path, artifact.path))


def _after_entries(data: ReportData, payload: Path, targets: dict[str, TargetView], runs: set[int],
                   times: list[str], info: dict[str, Any]) -> None:
    for view in targets.values():
        # An SSH session has both a cast and its text form: show the cast (it keeps what the
        # cursor did), and the text form only when no cast is there.
        if any(t.kind == "asciicast" for t in view.transcripts):
            view.transcripts = [t for t in view.transcripts if t.kind != "transcript"]
    _thumbnails([v for v in targets.values() if v.screenshots and v.screenshots[-1].image.media_type])
    data.targets = list(targets.values())
    data.runs = len(runs - {0})
    if times:
        data.capture_start, data.capture_end = min(times), max(times)
    data.authorization = _authorization(payload, info.get("authorization"), {a.path: a for a in data.artifacts})
    _tool_versions(data, info)


def _identity_short(identity: dict[str, Any]) -> str:
    keys = ("host_key", "tls_leaf_sha256", "certificate_sha256", "server_ip", "account", "privilege", "mode")
    parts = []
    for k in keys:
        v = identity.get(k)
        if v not in (None, ""):
            if k == "server_ip" and identity.get("server_port"):
                v = f"{v}:{identity['server_port']}"
            label = {"tls_leaf_sha256": "cert sha256", "certificate_sha256": "cert sha256",
                     "host_key": "host key", "server_ip": "server"}.get(k, k)
            parts.append(f"{label} {_short(v, 80)}")
    return "; ".join(parts)


def _read_text(path: Path) -> tuple[str, bool]:
    with open(path, "rb") as fh:
        raw = fh.read(MAX_TEXT_BYTES + 1)
    return raw[:MAX_TEXT_BYTES].decode("utf-8", "replace"), len(raw) > MAX_TEXT_BYTES


def _cast_transcript(path: Path, artifact: Artifact) -> Transcript:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CAST_BYTES + 1)
    except OSError as exc:
        return Transcript(artifact.path, artifact.path, artifact.sha256, "asciicast v2 (unreadable)", [], 0,
                          [f"cannot read: {exc.strerror or exc}"], kind="asciicast")
    cast = render_cast(raw[:MAX_CAST_BYTES])
    if len(raw) > MAX_CAST_BYTES:
        cast.problems.append(f"only the first {MAX_CAST_BYTES >> 20} MiB of the recording are shown")
    start = _dt.datetime.fromtimestamp(cast.start, _dt.UTC) if cast.start else None
    lines = []
    for line in cast.lines[:MAX_TRANSCRIPT_LINES]:
        label = ""
        if line.time is not None:
            label = f"{'+' + format(line.time, '.3f'):>9}s"
        lines.append(TranscriptLine(label, line.text, line.notes))
    source = "asciicast v2, replayed through a terminal interpreter (colours dropped, cursor moves applied)"
    if start:
        source += f"; recording started {start.strftime('%Y-%m-%dT%H:%M:%SZ')} (times are seconds from then)"
    return Transcript(cast.title or artifact.path, artifact.path, artifact.sha256, source, lines,
                      len(cast.lines), cast.problems, kind="asciicast")


def _text_transcript(path: Path, artifact: Artifact) -> Transcript:
    try:
        text, cut = _read_text(path)
    except OSError as exc:
        return Transcript(artifact.path, artifact.path, artifact.sha256, "plain text transcript (unreadable)", [],
                          0, [f"cannot read: {exc.strerror or exc}"], kind=artifact.kind)
    shown = render_text(text, width=4000, height=1000).split("\n")
    lines = [TranscriptLine("", line) for line in shown[:MAX_TRANSCRIPT_LINES]]
    problems = [f"only the first {MAX_TEXT_BYTES >> 20} MiB are shown"] if cut else []
    title = {"banner": "Banner shown before login", "ldap_transcript": "LDAP conversation",
             "transcript": "Text transcript"}.get(artifact.kind, artifact.kind)
    return Transcript(f"{title} ({Path(artifact.path).name})", artifact.path, artifact.sha256,
                      "plain text transcript, terminal escapes interpreted or removed", lines, len(shown), problems,
                      kind=artifact.kind)


def _certificates(path: Path, source: str) -> list[CertificateView]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        return []
    out = []
    for i, cert in enumerate(certs[:10]):
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n.value) for n in san][:20]
        except (x509.ExtensionNotFound, ValueError):
            names = []
        out.append(CertificateView(
            source=source, position=i, subject=visible(cert.subject.rfc4514_string()),
            issuer=visible(cert.issuer.rfc4514_string()), serial=format(cert.serial_number, "x"),
            not_before=cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            not_after=cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            sha256=cert.fingerprint(hashes.SHA256()).hex(), names=[visible(n) for n in names],
        ))
    return out


def _screenshots(payload: Path, stamped: list[tuple[TargetView, dict[str, Any], Artifact]],
                 originals: dict[str, tuple[Artifact, dict[str, Any]]], targets: dict[str, TargetView],
                 compact: bool = False) -> None:
    """Pair each stamped copy with its original: the path it names if that file has the hash it
    names, else a file of that target with that hash (two targets can show identical screens)."""
    used: set[str] = set()
    for view, edata, art in stamped:
        orig_sha = str(edata.get("original_sha256") or "")
        named = originals.get(visible(str(edata.get("original") or "")))
        orig = named if named and named[0].sha256 == orig_sha else next(
            (o for path, o in originals.items()
             if path not in used and o[0].sha256 == orig_sha and o[0].target == art.target), None)
        if orig is not None:
            used.add(orig[0].path)
        odata = orig[1] if orig else {}
        view.screenshots.append(Screenshot(
            seq=_int(edata.get("seq") or odata.get("seq")), label=visible(str(edata.get("label") or "")),
            url=visible(str(odata.get("url") or "")), taken=str(odata.get("taken") or art.time),
            path=art.path, sha256=art.sha256, original_path=orig[0].path if orig else visible(
                str(edata.get("original") or "")) or None,
            original_sha256=orig_sha or None, stamped=True, image=_image(payload / art.path, compact),
            original_hash_ok=orig is not None,
        ))
    for path, (art, odata) in originals.items():
        if path in used or not art.target:
            continue
        owner = targets.get(str(art.target))
        if owner is None:
            continue
        owner.screenshots.append(Screenshot(
            seq=_int(odata.get("seq")), label=visible(str(odata.get("label") or "")),
            url=visible(str(odata.get("url") or "")), taken=str(odata.get("taken") or art.time), path=art.path,
            sha256=art.sha256, original_path=art.path, original_sha256=art.sha256, stamped=False,
            image=_image(payload / art.path, compact), original_hash_ok=True,
        ))
    for view in targets.values():
        view.screenshots.sort(key=lambda s: (s.seq is None, s.seq or 0, s.taken))


def _thumbnails(views: list[TargetView]) -> None:
    """The last screenshot of each target, small, for the summary (Pillow decodes off the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(view: TargetView) -> None:
        try:
            view.thumbnail = images.thumbnail(view.screenshots[-1].image.path)
        except images.ImageProblem as exc:
            view.problems.append(f"thumbnail: {exc}")

    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
        list(pool.map(one, views))


def _image(path: Path, compact: bool) -> ImageRef:
    # Only PNG/JPEG bytes are embedded; anything else is listed but not drawn.
    media = images.sniff(path) or ""
    return ImageRef(path, media, compact=compact and bool(media))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _authorization(payload: Path, auth: Any, artifacts: dict[str, Artifact]) -> Authorization | None:
    if not isinstance(auth, dict) or not auth.get("path"):
        return None
    rel = str(auth["path"])
    journaled = artifacts.get(rel)
    found = inside(payload, rel)
    preview, note = images.document_preview(found) if found else (None, "not in the case folder: not shown")
    return Authorization(
        name=visible(str(auth.get("original_name") or rel)), path=visible(rel), sha256=str(auth.get("sha256") or ""),
        size=int(auth.get("size") or 0), preview=preview, preview_note=note,
        hash_ok=(journaled.sha256 == auth.get("sha256")) if journaled else None,
    )


def _versions(data: ReportData, facts: dict[str, Any], run: int) -> None:
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
