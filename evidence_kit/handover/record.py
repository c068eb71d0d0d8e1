"""The handover in the case journal, appended after the archive is sealed.

A sealed archive cannot hold its own handover: the handover names the archive's hash, which
exists only once the archive does. So the order is: seal (the archive holds the journal up to
head H), write the package and the signed transmittal (which binds the archive's SHA-256 and
H), then append ``handover`` (recipients with key fingerprints, every file with its hash, the
transmittal's hash) and, for ``--mail``, ``handover_mailed`` (Message-ID, recipients, the
server's final reply) to the case journal, after H. A later seal of the case carries them.

The case is held under a shared lock for the whole handover (seal takes its own shared lock
beside it), so no capture can start in between; the lock is made exclusive only for the
appends, as a capture's would be. Entries carry the number of the case's last run: a handover
is not a capture run and must not shift the next run's number.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evidence_kit.case.case import append_to_last_run, case_lock
from evidence_kit.errors import CaseError


class HeldCase:
    """A case folder held (shared) for a handover; :meth:`append` journals into it."""

    def __init__(self, root: Path, fd: int) -> None:
        self.root = root
        self._fd = fd

    def append(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CaseError(f"{self.root}: another process holds the case; the handover files are complete, but "
                            f"its '{event}' entry could not be journaled: run the handover again later")
        try:
            try:
                return append_to_last_run(self.root, [(event, data)])[0]
            except CaseError as exc:
                raise CaseError(f"{exc.one_line()}; '{event}' not journaled") from exc
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB)


@contextmanager
def hold(root: Path) -> Iterator[HeldCase]:
    with case_lock(Path(root), shared=True) as fd:
        yield HeldCase(Path(root), fd)
