"""The journal when Ctrl-C / SIGTERM lands in the middle of an append (in the main thread, which
appends run_started and run_finished while worker threads may still append): whatever reached the
file, the journal's idea of its head stays the file's, so the next append (another thread's, or
the rest of the run's) continues the chain instead of breaking it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evidence_kit.case import diskio
from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.journal import JOURNAL_NAME, check_journal

DETAILS = CaseDetails(client="Contoso Ltd", provider="Example MSP", technician="J. Doe")


def interrupting(after: str):
    """An os_write that raises KeyboardInterrupt once: 'after' the whole line, or 'during' it (half)."""
    state = {"armed": True}

    def write(fd: int, data: bytes | memoryview) -> int:
        if not state["armed"]:
            return os.write(fd, data)
        state["armed"] = False
        if after == "during":
            os.write(fd, bytes(data[: len(data) // 2]))
        else:
            os.write(fd, data)
        raise KeyboardInterrupt  # the signal's handler runs as the system call returns

    return write


@pytest.mark.parametrize("after", ["after", "during"])
def test_an_append_interrupted_by_a_signal_leaves_the_chain_whole(after: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    case = Case.open_for_capture(tmp_path / "case", DETAILS, {})
    monkeypatch.setattr(diskio, "os_write", interrupting(after))
    with pytest.raises(KeyboardInterrupt):
        case.journal.append("run_finished", {"stopped": "interrupted by SIGINT"})
    monkeypatch.undo()
    case.journal.append("target_finished", {"outcome": "error"}, target="late")  # a worker, just after
    case.close({})
    check = check_journal(tmp_path / "case" / JOURNAL_NAME)
    assert check.ok and check.torn_tail_bytes == 0, check.describe()
    events = [line for line in (tmp_path / "case" / JOURNAL_NAME).read_bytes().splitlines()]
    assert (b'"run_finished"' in events[-3]) == (after == "after")  # kept whole, or cut back
