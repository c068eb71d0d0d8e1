"""What a report shows, as typed data: filled by :mod:`collect`, drawn by :mod:`render`.

Nothing here is HTML. Every string that came from a device, a page or a file is kept as the
plain text it is (terminal escapes already interpreted by :mod:`terminal`); escaping is the
template's job, with Jinja2 autoescape on. Images are referenced by path and turned into
``data:`` URIs only while the page is written, so a case with a thousand screenshots does not
sit in memory twice.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from evidence_kit.case.outcome import Outcome
from evidence_kit.report.images import ImageRef


@dataclass
class CheckRow:
    name: str
    status: str  # "passed" | "failed" | "not checked"
    detail: str


@dataclass
class TrustedTime:
    index: int
    file: str
    time: str
    tsa: str
    trusted: bool  # the TSA's signature and chain were checked against --tsa-ca
    offset_seconds: float | None  # trusted time minus the signer's local seal time


@dataclass
class ScreenshotView:
    seq: int | None
    label: str
    url: str
    taken: str
    path: str  # archive-relative path of the image shown
    sha256: str
    original_path: str | None
    original_sha256: str | None
    stamped: bool
    image: ImageRef
    original_hash_ok: bool | None = None  # the original file's hash is the one the stamp names


@dataclass
class TranscriptLine:
    time: str  # "" or a label such as "+12.345 s" / "08:57:10.0227Z"
    text: str
    notes: list[str] = field(default_factory=list)


@dataclass
class TranscriptView:
    title: str
    path: str
    sha256: str
    source: str  # how it was rendered, in words
    lines: list[TranscriptLine]
    total_lines: int
    problems: list[str] = field(default_factory=list)
    kind: str = ""  # the artifact kind (asciicast, transcript, banner, ldap_transcript)

    @property
    def truncated(self) -> bool:
        return self.total_lines > len(self.lines)


ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def split_time(value: str) -> tuple[str, str]:
    """``2026-11-25T08:57:09.711972Z`` -> (``2026-11-25``, ``08:57:09.711``): a day and a clock
    time short enough for a narrow column (truncated to milliseconds, so it is a prefix of the
    full value, which the journal appendix prints). A value that is not such a time is kept
    whole as the clock part."""
    m = ISO_TIME.fullmatch(value or "")
    if not m:
        return "", value
    fraction = (m.group(3) or "")[:4]
    zone = "" if m.group(4) in (None, "Z", "+00:00") else f" {m.group(4)}"
    return m.group(1), f"{m.group(2)}{fraction}{zone}"


@dataclass
class TimelineRow:
    """One journal entry of a target, as its timeline shows it: in words."""

    seq: int
    time: str  # the full value from the journal
    run: int
    event: str  # the journal's event name
    sentence: str  # what it means, in words (sentences.py)
    artifact: str | None = None
    failure: bool = False
    number: int = 0  # the entry's line in the journal: its row in the journal appendix

    @property
    def day(self) -> str:
        return split_time(self.time)[0]

    @property
    def clock(self) -> str:
        return split_time(self.time)[1]


@dataclass
class JournalRow:
    """One journal entry with its raw fields, for the journal appendix (values shortened to
    400 characters each; the journal in the archive holds them whole)."""

    number: int  # the entry's line in the journal
    seq: str
    time: str
    run: str
    target: str
    event: str
    fields: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CommitmentRow:
    target: str
    field: str
    scheme: str
    commitment: str
    seq: int
    time: str


@dataclass
class CertificateView:
    source: str  # artifact path
    position: int  # 0 = leaf
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    sha256: str
    names: list[str] = field(default_factory=list)


@dataclass
class ArtifactRow:
    path: str
    target: str | None
    kind: str
    media_type: str
    sha256: str
    size: int
    seq: int
    time: str


@dataclass
class TargetView:
    name: str
    anchor: str
    kind: str
    profile: str
    address: str
    outcome: str
    detail: str
    started: str
    finished: str
    identity: list[tuple[str, str]] = field(default_factory=list)
    identity_short: str = ""
    timeline: list[TimelineRow] = field(default_factory=list)
    screenshots: list[ScreenshotView] = field(default_factory=list)
    transcripts: list[TranscriptView] = field(default_factory=list)
    certificates: list[CertificateView] = field(default_factory=list)
    commitments: list[CommitmentRow] = field(default_factory=list)
    artifacts: list[ArtifactRow] = field(default_factory=list)
    thumbnail: ImageRef | None = None
    problems: list[str] = field(default_factory=list)
    trusted_time: str = ""  # the RFC 3161 bracket of its login (report/trusted_time.py)

    @property
    def ok(self) -> bool:
        """Only ``login_ok`` is full success (evidence_kit/case/outcome.py)."""
        return self.outcome == Outcome.LOGIN_OK

    @property
    def failure_events(self) -> list[TimelineRow]:
        return [e for e in self.timeline if e.failure]

    @property
    def kind_label(self) -> str:
        return {"ssh": "SSH", "web": "web", "directory": "directory"}.get(self.kind, self.kind)


@dataclass
class Authorization:
    name: str
    path: str
    sha256: str
    size: int
    preview: ImageRef | None
    preview_note: str
    hash_ok: bool | None


@dataclass
class ToolCommand:
    purpose: str
    argv: list[str]
    expect: str = ""

    @property
    def shell(self) -> str:
        return shlex.join(self.argv)


@dataclass
class VersionRow:
    name: str
    version: str
    where: str


@dataclass(frozen=True)
class OutcomeCount:
    outcome: str
    count: int
    words: str  # the outcome in words (sentences.OUTCOME_WORDS)


@dataclass(frozen=True)
class MissedTarget:
    """A target that did not log in with the expected access, for the cover."""

    name: str
    anchor: str
    outcome: str
    words: str
    detail: str


@dataclass(frozen=True)
class CredentialsAnswer:
    """The cover's first question, "Did the credentials work?", answered in words."""

    verdict: str  # YES | PARTLY | NO | NO TARGETS | UNKNOWN
    tone: str  # passed | warn | failed | unknown: how the answer is drawn
    headline: str
    counts: list[OutcomeCount] = field(default_factory=list)
    misses: list[MissedTarget] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything one report shows."""

    generated: str
    tool_version: str
    archive_name: str
    archive_sha256: str
    archive_size: int
    ok: bool
    checks: list[CheckRow]
    failed_checks: list[str]
    signer_fingerprint: str | None
    signer_trusted: bool | None  # None: no --trust-key given
    case_id: str
    content_available: bool  # False when the archive could not be opened and read safely
    content_note: str = ""
    client: str = ""
    provider: str = ""
    technician: str = ""
    purpose: str = ""
    created: str = ""
    capture_start: str = ""
    capture_end: str = ""
    sealed_local: str = ""
    sealed_local_source: str = ""
    trusted_times: list[TrustedTime] = field(default_factory=list)
    authorization: Authorization | None = None
    capture_host: list[tuple[str, str]] = field(default_factory=list)
    clock: list[tuple[str, str]] = field(default_factory=list)
    targets: list[TargetView] = field(default_factory=list)
    artifacts: list[ArtifactRow] = field(default_factory=list)
    versions: list[VersionRow] = field(default_factory=list)
    commitment_params: list[tuple[str, str]] = field(default_factory=list)
    commitment_derivation: str = ""  # as the sealed commitments.json states it
    commands: list[ToolCommand] = field(default_factory=list)
    bag_info: list[tuple[str, str]] = field(default_factory=list)
    journal: list[JournalRow] = field(default_factory=list)  # every entry, raw fields (Appendix E)
    credentials: CredentialsAnswer | None = None  # set by collect (cover.py)
    journal_entries: int = 0
    journal_head: str = ""
    runs: int = 0
    paper: str = "A4"
    problems: list[str] = field(default_factory=list)  # what could not be read from the archive

    @property
    def screenshot_count(self) -> int:
        return sum(len(t.screenshots) for t in self.targets)


@dataclass
class ReportResult:
    """What :func:`evidence_kit.report.write_report` made."""

    output: Path
    format: str  # "html" | "pdf"
    ok: bool  # every verification check passed (none failed)
    failed_checks: list[str]
    case_id: str
    archive_sha256: str
    targets: int
    screenshots: int
    size: int
    pages: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
