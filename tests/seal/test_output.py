"""evidence_kit/seal/output.py on its own: stale partial files, publishing that never overwrites,
signals turned into SealInterrupted (the end-to-end runs are in test_seal_interrupt.py)."""

from __future__ import annotations

import fcntl
import os
import signal
from pathlib import Path

import pytest

from evidence_kit.errors import UsageError
from evidence_kit.seal.output import PartialFile, SealInterrupted, interruptible, partial_path, publish, remove_stale


def test_remove_stale_takes_only_abandoned_partials_of_that_name(tmp_path: Path) -> None:
    final = tmp_path / "case.age"
    abandoned = partial_path(final, 4242)
    abandoned.write_bytes(b"half an archive")
    alive = partial_path(final, 4343)
    alive.write_bytes(b"being written")
    others = [tmp_path / ".other.age.partial-1", tmp_path / "case.age.partial-1", tmp_path / ".case.age.partial-x"]
    for path in others:
        path.write_bytes(b"not ours")
    fd = os.open(alive, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a running seal holds
        assert remove_stale(final) == [abandoned]
    finally:
        os.close(fd)
    assert not abandoned.exists() and alive.exists()
    assert all(path.exists() for path in others)


def test_publish_never_replaces_a_file_that_appeared(tmp_path: Path) -> None:
    final = tmp_path / "case.age"
    partial = PartialFile(final, "sealed archive")
    try:
        partial.file.write(b"new archive")
        partial.complete()
        final.write_bytes(b"someone else's")
        with pytest.raises(UsageError, match="never overwritten"):
            publish([partial], tmp_path)
    finally:
        partial.discard()
    assert final.read_bytes() == b"someone else's"
    assert sorted(os.listdir(tmp_path)) == ["case.age"]


def test_publish_gives_the_final_name_and_leaves_no_partial(tmp_path: Path) -> None:
    final = tmp_path / "case.age"
    partial = PartialFile(final, "sealed archive")
    try:
        partial.file.write(b"archive")
        partial.complete()
        publish([partial], tmp_path)
    finally:
        partial.discard()
    assert final.read_bytes() == b"archive"
    assert os.listdir(tmp_path) == ["case.age"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_becomes_seal_interrupted_and_handlers_are_restored(signum: int, code: int) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(SealInterrupted) as caught, interruptible():
        os.kill(os.getpid(), signum)
        for _ in range(1000):
            pass
    assert caught.value.exit_code == code and signal.Signals(signum).name in caught.value.one_line()
    assert signal.getsignal(signum) == before


def test_after_hold_a_signal_no_longer_stops_the_seal() -> None:
    with interruptible() as guard:
        guard.hold()
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            pass
    assert guard.received == signal.SIGTERM


def test_a_signal_swallowed_by_a_library_is_still_an_interrupt() -> None:
    """pyrage turns what its Python reader raised (the signal's exception) into its own error text;
    the seal still ends as interrupted by that signal, never as 'age encryption failed'."""
    from evidence_kit.errors import ArchiveError

    with pytest.raises(SealInterrupted) as caught, interruptible() as guard:
        guard.hold()  # the signal is only remembered, as inside a library callback
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            pass
        raise ArchiveError("age encryption failed: _Stop: 15")
    assert caught.value.exit_code == 143
