"""The case's files, opened for the report: terminal recordings and text transcripts (through
the terminal interpreter), certificate chains, and the authorization document.

Only a regular file inside the extracted case folder is ever opened (:func:`inside`): a journal
that failed verification may name any path. Sizes are bounded; the full file is always the
artifact in the archive, named beside what is shown.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from evidence_kit.report import images
from evidence_kit.report.model import ArtifactRow, Authorization, CertificateView, TranscriptLine, TranscriptView
from evidence_kit.report.terminal import render_cast, render_text, visible

MAX_TRANSCRIPT_LINES = 5000  # per transcript; the full file is in the archive and the appendix
MAX_TEXT_BYTES = 4 << 20
MAX_CAST_BYTES = 64 << 20
# Shown as text: every plain-text artifact, whatever driver wrote it (a new kind needs no line
# here); these titles only name the known ones better. The host key is shown with the identity.
NOT_SHOWN_AS_TEXT = ("host_key",)
TEXT_TITLES = {"banner": "Banner shown before login", "ldap_transcript": "LDAP conversation",
               "transcript": "Text transcript", "smb_transcript": "SMB conversation",
               "rdp_client_log": "The RDP client's log (FreeRDP)"}


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


def _read_text(path: Path) -> tuple[str, bool]:
    with open(path, "rb") as fh:
        raw = fh.read(MAX_TEXT_BYTES + 1)
    return raw[:MAX_TEXT_BYTES].decode("utf-8", "replace"), len(raw) > MAX_TEXT_BYTES


def cast_transcript(path: Path, artifact: ArtifactRow) -> TranscriptView:
    """An asciicast replayed through the terminal interpreter, with seconds from its start."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CAST_BYTES + 1)
    except OSError as exc:
        return TranscriptView(artifact.path, artifact.path, artifact.sha256, "asciicast v2 (unreadable)", [], 0,
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
    return TranscriptView(cast.title or artifact.path, artifact.path, artifact.sha256, source, lines,
                          len(cast.lines), cast.problems, kind="asciicast")


def shown_as_text(artifact: ArtifactRow) -> bool:
    """A plain-text artifact the target's section shows as a transcript."""
    if artifact.kind in NOT_SHOWN_AS_TEXT:
        return False
    return artifact.kind in TEXT_TITLES or artifact.media_type.startswith("text/plain")


def text_transcript(path: Path, artifact: ArtifactRow) -> TranscriptView:
    """A text artifact (banner, LDAP conversation, session text) with escapes interpreted."""
    try:
        text, cut = _read_text(path)
    except OSError as exc:
        return TranscriptView(artifact.path, artifact.path, artifact.sha256, "plain text transcript (unreadable)",
                              [], 0, [f"cannot read: {exc.strerror or exc}"], kind=artifact.kind)
    shown = render_text(text, width=4000, height=1000).split("\n")
    lines = [TranscriptLine("", line) for line in shown[:MAX_TRANSCRIPT_LINES]]
    problems = [f"only the first {MAX_TEXT_BYTES >> 20} MiB are shown"] if cut else []
    title = TEXT_TITLES.get(artifact.kind, artifact.kind.replace("_", " "))
    return TranscriptView(f"{title} ({Path(artifact.path).name})", artifact.path, artifact.sha256,
                          "plain text transcript, terminal escapes interpreted or removed", lines, len(shown),
                          problems, kind=artifact.kind)


def certificates(path: Path, source: str) -> list[CertificateView]:
    """Every certificate of a captured PEM chain (at most 10), leaf first."""
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


def authorization(payload: Path, auth: Any, artifacts: dict[str, ArtifactRow]) -> Authorization | None:
    """The authorization document case.json names, with its first page drawn when possible."""
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
