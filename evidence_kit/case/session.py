"""One target's part of a case: its secrets, events, artifacts, and exactly one outcome.

The session owns the target's secrets: it journals a commitment to each when it opens, feeds
every form of them to its redactor and to the log redaction, and hands them to the driver by
field name (:meth:`TargetSession.secret`). Everything it journals or writes as text passes the
redactor first.

Faults are its business too. A write the machine refuses (disk full...) still leaves a true
record: the artifact is journaled with exactly the bytes that reached the disk and marked
incomplete, and the refusal is raised as the machine's condition
(:class:`~evidence_kit.errors.MachineError`) and kept on the case, so the run stops there
instead of capturing into a full disk. A run being cancelled (Ctrl-C, SIGTERM) calls the
closers drivers registered with :meth:`TargetSession.on_cancel`, which end blocking I/O at once.
"""

from __future__ import annotations

import errno
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from evidence_kit.case.artifacts import ArtifactRecord, ArtifactWriter
from evidence_kit.case.commitments import commit
from evidence_kit.case.diskio import as_machine_error
from evidence_kit.case.journal import utc_now
from evidence_kit.case.outcome import Outcome
from evidence_kit.errors import MachineError
from evidence_kit.redact import Redactor, StreamRedactor, redact_logs
from evidence_kit.secrets import Secret

if TYPE_CHECKING:
    from evidence_kit.case.case import Case

ARTIFACTS_DIR = "artifacts"


@dataclass
class TargetResult:
    """What one target ended with: the summary line of a run and of a report."""

    name: str
    kind: str
    profile: str
    address: str
    outcome: Outcome
    detail: str = ""
    started: str = ""
    finished: str = ""
    identity: dict[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "profile": self.profile, "address": self.address,
            "outcome": self.outcome.value, "detail": self.detail, "started": self.started,
            "finished": self.finished, "identity": self.identity, "artifacts": self.artifacts,
        }


class TargetSession:
    """One target's part of the case: its secrets, events, artifacts, and exactly one outcome."""

    def __init__(
        self, case: Case, name: str, kind: str, profile: str, address: str,
        secrets: Mapping[str, Secret] | None = None,
    ) -> None:
        self.case = case
        self.name = name
        self.kind = kind
        self.profile = profile
        self.address = address
        self._secrets = dict(secrets or {})
        self._redacted: list[str] = []
        self.redactor = Redactor()
        for secret in self._secrets.values():
            self.add_secret(secret.reveal())
        self.folder = f"{ARTIFACTS_DIR}/{slug(name)}/run{case.journal.run:03d}"
        self._closers: list[Callable[[], None]] = []
        self.cancelled = False  # the run was stopped while this target ran
        self.started = utc_now()
        self.identity: dict[str, Any] = {}
        self.result: TargetResult | None = None
        self._artifacts: list[str] = []
        self._lock = threading.Lock()
        case.cancellation.watch(self)
        self.event("target_started", {"kind": kind, "profile": profile, "address": address})
        for field_name, secret in self._secrets.items():
            # A salted scrypt commitment to each credential (never the credential itself).
            self.event("credential_commitment",
                       commit(case.commitment_params, secret.reveal(), target=name, field=field_name))

    def secret(self, field_name: str) -> Secret | None:
        """The target's secret for ``field_name`` (``password``, ``totp``, a ``secrets:`` name)."""
        return self._secrets.get(field_name)

    def add_secret(self, value: str) -> None:
        """Redact a secret learned mid-session (a TOTP code, a seed's bare form) from now on."""
        if value and value not in self._redacted:
            self._redacted.append(value)
            self.redactor.add(value)
            redact_logs(value)

    def on_cancel(self, closer: Callable[[], None]) -> Callable[[], None]:
        """Call ``closer`` (from another thread) if the run is cancelled while this target runs.

        A closer ends the driver's blocking I/O at once (closes the socket, cancels the page);
        the driver then fails on it and the orchestrator records the target as interrupted.
        Returns ``closer``; it is called at once when the run is already cancelled.
        """
        with self._lock:
            self._closers.append(closer)
        if self.case.cancellation.is_set():
            self.cancel()
        return closer

    def cancel(self) -> None:
        """Run every closer registered for this target (the case's cancellation calls this)."""
        with self._lock:
            self.cancelled = True
            closers = list(self._closers)
        for closer in closers:
            _quietly(closer)

    def redaction_values(self) -> list[str]:
        """Every secret this session redacts (its own and learned ones), for a scrubber that must
        treat them one by one (trace_scrub.py); a copy, read at the point of use."""
        return list(self._redacted)

    def event(self, event: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.case.journal.append(event, self.redactor.redact_obj(data or {}), target=self.name)

    def set_identity(self, **facts: Any) -> None:
        """Record what identifies the far end (host key, certificate, account) for the summary."""
        self.identity.update(self.redactor.redact_obj(facts))

    @contextmanager
    def artifact(
        self, name: str, kind: str, media_type: str, redact: bool = True, **meta: Any
    ) -> Iterator[_RedactingWriter | ArtifactWriter]:
        """Open a new artifact for streaming writes; journaled with its hash when closed.

        With ``redact`` (the default, for text) the bytes pass a stream redactor first; binary
        artifacts (PNG, zip) that were checked by other means pass ``redact=False``. A write
        the machine refuses ends the artifact as it stands on disk (journaled, marked
        incomplete) and raises the machine's condition.
        """
        if self.case.fault is not None:
            raise self.case.fault  # the run is stopping on the machine's refusal: no new file into it
        try:
            writer = self._new_writer(name, kind, media_type)
        except OSError as exc:
            raise self._fault(exc, self.case.root / self.folder / name, f"creating artifact {name}") from exc
        sink: _RedactingWriter | ArtifactWriter = (
            _RedactingWriter(writer, self.redactor.stream()) if redact and self.redactor else writer
        )
        fault: MachineError | OSError | None = None
        try:
            yield sink
        except OSError:
            if writer.failure is None:
                raise  # not this artifact's write (a driver's socket...): the driver's business
        finally:
            record = sink.close()
            if not record.complete:
                # The writer's first refusal is the cause, whatever exception came through here
                # (a later write to the refused file, or a driver's own error on the way out).
                cause = writer.failure or OSError(errno.EIO, record.problem)
                fault = self._fault(cause, writer.full, f"writing artifact {record.path}")
            if record.complete or self.case.journal.fault is None:
                incomplete = {} if record.complete else {"complete": False, "problem": record.problem}
                self._journal_artifact(record, {**meta, **incomplete})
        if fault is not None:
            raise fault from writer.failure

    def _fault(self, exc: OSError, path: Any, doing: str) -> MachineError | OSError:
        """The machine's condition for ``exc``, remembered on the case so the run stops."""
        fault = as_machine_error(exc, path, doing, "free space (or fix the folder), then run capture "
                                 "again: the case continues, with this artifact recorded as incomplete")
        if isinstance(fault, MachineError):
            self.case.record_fault(fault)
        return fault

    def add_artifact(
        self, name: str, data: bytes, kind: str, media_type: str, redact: bool = True, **meta: Any
    ) -> ArtifactRecord:
        with self.artifact(name, kind, media_type, redact=redact, **meta) as w:
            w.write(data)
        return w.close()

    def relpath(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def _new_writer(self, name: str, kind: str, media_type: str) -> ArtifactWriter:
        safe = slug(name)
        with self._lock:
            base, dot, ext = safe.rpartition(".")
            candidate, n = safe, 1
            while (self.case.root / self.folder / candidate).exists():
                n += 1
                candidate = f"{base}-{n}{dot}{ext}" if dot else f"{safe}-{n}"
            writer = ArtifactWriter(self.case.root, f"{self.folder}/{candidate}", kind, media_type,
                                    on_failure=self._writer_failed)
            self._artifacts.append(writer.relpath)
            return writer

    def _writer_failed(self, writer: ArtifactWriter, exc: OSError) -> None:
        """The first refusal of a write is the fault the run reports and stops on, even when the
        artifact's context (closed last, e.g. the outer of two transcripts) ends after others."""
        self._fault(exc, writer.full, f"writing artifact {writer.relpath}")

    def _journal_artifact(self, record: ArtifactRecord, meta: dict[str, Any]) -> None:
        data = {"kind": record.kind, "media_type": record.media_type, **meta}
        self.case.journal.append(
            "artifact_added", self.redactor.redact_obj(data), target=self.name, artifact=record.journal_form()
        )

    def finish(self, outcome: Outcome, detail: str = "", **data: Any) -> TargetResult:
        """End the target with its one outcome. A second call is ignored (first outcome wins)."""
        if self.result is not None:
            return self.result
        detail = self.redactor.redact_text(detail)
        finished = utc_now()
        self.event(
            "target_finished",
            {"outcome": outcome.value, "detail": detail, "identity": self.identity, **data},
        )
        self.result = TargetResult(
            self.name, self.kind, self.profile, self.address, outcome, detail,
            self.started, finished, dict(self.identity), list(self._artifacts),
        )
        return self.result

    def __enter__(self) -> TargetSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A driver that crashed still leaves an outcome: failures are evidence.
        self.case.cancellation.unwatch(self)
        if self.result is not None:
            return
        if exc is not None and self.case.fault is not None:
            # The machine refused a write: try to say so, but never hide the original fault.
            try:
                self.finish(Outcome.ERROR, f"stopped: {self.case.fault.one_line()}")
            except (OSError, MachineError):
                pass
        elif exc is not None:
            self.finish(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
        else:
            self.finish(Outcome.ERROR, "driver ended without an outcome")


class _RedactingWriter:
    def __init__(self, writer: ArtifactWriter, stream: StreamRedactor) -> None:
        self._w = writer
        self._s = stream

    def write(self, data: bytes) -> int:
        self._w.write(self._s.feed(data))
        return len(data)

    def flush(self) -> None:
        self._w.flush()

    @property
    def problem(self) -> str:
        return self._w.problem

    @property
    def full(self) -> Any:
        return self._w.full

    def close(self) -> ArtifactRecord:
        if not self._w.closed and not self._w.problem:
            try:
                self._w.write(self._s.flush())
            except OSError:
                pass  # recorded by the writer: the record says what reached the disk
        return self._w.close()


def slug(name: str) -> str:
    """A folder-safe form of a target name (names are validated, but stay defensive)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "target"
    return cleaned[:80]


def _quietly(closer: Callable[[], None]) -> None:
    try:
        closer()
    except Exception:  # noqa: S110 - a closer of a half-closed connection may fail; the point is made
        pass
