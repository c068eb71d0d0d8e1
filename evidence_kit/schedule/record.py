"""Journaling after the seal: what a run did once its archive was sealed.

The sealed archive holds the journal as it was at the seal; anything the run does afterwards
(the seal's own record, the alerts and how each channel fared) is appended to the case's
journal under the same run number, after its ``run_finished``. So the archive just sealed stays
exactly what its receipt and signature say, and the *next* run's archive carries these entries
inside its signed bag: a history records each seal and each alert in the evidence itself.

The case is locked (exclusively, as a capture does) only for the append. A case that cannot be
appended to now (a capture running into it, a torn journal, a full disk) is not an error of the
run: the entry is skipped and the caller says so; the evidence is untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evidence_kit.case.case import append_to_last_run, case_lock
from evidence_kit.case.journal import JOURNAL_NAME
from evidence_kit.errors import EvidenceKitError

RUN_SEALED = "run_sealed"
ALERT = "alert"


def append_after_seal(case_root: Path, entries: list[tuple[str, dict[str, Any]]]) -> str | None:
    """Append ``(event, data)`` entries to the case's last run. None when done, else why not."""
    try:
        with case_lock(Path(case_root), shared=False):
            append_to_last_run(Path(case_root), entries)
    except (EvidenceKitError, OSError) as exc:
        text = exc.one_line() if isinstance(exc, EvidenceKitError) else (exc.strerror or str(exc))
        return f"{Path(case_root) / JOURNAL_NAME}: not appended ({text})"
    return None
