"""The artifact writer and the journal under writes that fail at random points, part-way (as a
real ``write`` can: a short count, then an error): whenever a record is journaled, its size and
hash are those of the bytes on disk; the journal is never left torn; a refused artifact is
recorded as incomplete or, when the journal itself was refused, found by the next reopen.

Property-based (hypothesis): the system call ``evidence_kit.case.diskio.os_write`` is replaced by
one that follows a drawn plan, call by call.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence_kit.case import diskio
from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.journal import JOURNAL_NAME, check_journal, read_entries
from evidence_kit.case.outcome import Outcome
from evidence_kit.errors import EvidenceKitError

DETAILS = CaseDetails(client="Contoso Ltd", provider="Example MSP", technician="J. Doe")
SECRET = "hunter2-S3cret"
ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS)

# One system call's fate: written whole, written in part (a short count: the rest is retried),
# part written and then an error on the retry, nothing written and an error, or 0 bytes written.
Step = tuple[str, float, int]
steps = st.tuples(st.sampled_from(["ok", "ok", "ok", "short", "fail", "zero"]), st.floats(0, 1),
                  st.sampled_from(ERRNOS))
chunks = st.lists(st.binary(min_size=0, max_size=3000) | st.just(SECRET.encode()), min_size=1, max_size=8)


@dataclass
class PlannedWrites:
    plan: list[Step]
    calls: int = 0
    refusing: int | None = None  # errno of a refusal still to be raised on the retry of a short write

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        if self.refusing is not None:
            code, self.refusing = self.refusing, None
            raise OSError(code, os.strerror(code))
        kind, share, code = self.plan[self.calls] if self.calls < len(self.plan) else ("ok", 1.0, 0)
        self.calls += 1
        if kind == "ok" or not data:
            return os.write(fd, data)
        if kind == "zero":
            return 0
        part = min(len(data) - 1, int(len(data) * share))
        if kind == "fail":
            self.refusing = code  # the retry of the rest is refused
            if part == 0:
                raise OSError(code, os.strerror(code))
        return os.write(fd, bytes(data[:part])) if part else 0


def on_disk(case: Path, rel: str) -> tuple[int, str]:
    data = (case / rel).read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=st.lists(steps, max_size=40), artifacts=st.lists(st.tuples(chunks, st.booleans()), min_size=1,
                                                            max_size=4))
def test_a_journaled_record_is_always_the_bytes_on_disk(plan: list[Step],
                                                        artifacts: list[tuple[list[bytes], bool]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="ekt-prop-"))
    try:
        case_root = root / "case"
        case = Case.open_for_capture(case_root, DETAILS, {})
        injected = PlannedWrites(plan)
        saved, diskio.os_write = diskio.os_write, injected
        records = []
        try:
            with case.target("rtr", "ssh", "linux", "127.0.0.1:22") as session:
                session.add_secret(SECRET)
                for number, (parts, redact) in enumerate(artifacts):
                    writer = None
                    try:
                        with session.artifact(f"a{number}.txt", "transcript", "text/plain", redact=redact) as w:
                            writer = w
                            for part in parts:
                                w.write(part)
                    except (OSError, EvidenceKitError):
                        pass
                    if writer is not None:
                        records.append((writer.close(), redact))
                session.finish(Outcome.LOGIN_OK, "done")
        except (OSError, EvidenceKitError):
            pass  # the journal (or the case) refused: what is there must still be true
        finally:
            diskio.os_write = saved
            try:
                case.close({})
            except (OSError, EvidenceKitError):
                pass

        check = check_journal(case_root / JOURNAL_NAME)
        assert check.ok and check.torn_tail_bytes == 0, check.describe()  # refused lines were cut back
        for entry in read_entries(case_root / JOURNAL_NAME):
            art = entry.get("artifact")
            if art:
                assert on_disk(case_root, art["path"]) == (art["size"], art["sha256"]), entry
                if entry["data"].get("complete") is False:
                    assert entry["data"]["problem"]
        for record, redact in records:  # what the writer said is what the disk has, journaled or not
            assert on_disk(case_root, record.path) == (record.size, record.sha256)
            if redact:  # a refused write never lets a held-back secret out either
                assert SECRET.encode() not in (case_root / record.path).read_bytes()

        # The next capture journals whatever this one could not, and then everything checks.
        Case.open_for_capture(case_root, DETAILS, {}).close({})
        named = set()
        for entry in read_entries(case_root / JOURNAL_NAME):
            art = entry.get("artifact")
            if art:
                assert on_disk(case_root, art["path"]) == (art["size"], art["sha256"])
                named.add(art["path"])
        files = {p.relative_to(case_root).as_posix() for p in (case_root / "artifacts").rglob("*") if p.is_file()}
        assert files <= named
        assert injected.calls >= 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
