"""A real ``evidence-kit seal`` process killed (SIGKILL) or stopped (SIGINT, SIGTERM) at several
moments: the output name holds a complete archive that verifies, or nothing; only a clearly named
``.NAME.partial-PID`` may stay after SIGKILL, and the next seal removes it; the case is unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.seal.faults import (
    PARTIAL,
    assert_verifies,
    case_state,
    leftovers,
    one_line,
    partial_of,
    run_seal,
    seal_argv,
    silent_tsa,
    size_at_least,
    start_seal,
    wait_until,
)
from tests.seal.helpers import Keyset, make_case

PAYLOAD = 256 << 20  # big enough that a seal takes a second or more here


@pytest.fixture(scope="module")
def big_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_case(tmp_path_factory.mktemp("big") / "case", payload=os.urandom(PAYLOAD))


@pytest.fixture(scope="module")
def big_state(big_case: Path) -> dict[str, str]:
    return case_state(big_case)


@pytest.fixture(scope="module")
def ssh_recipient(tmp_path_factory: pytest.TempPathFactory) -> str:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


MOMENTS = ["at start", "first bytes", "mid-stream", "waiting for the TSA", "as it publishes"]


@pytest.mark.slow
@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_leaves_a_complete_archive_or_none(moment: str, big_case: Path, big_state: dict[str, str],
                                                   keyset: Keyset, tmp_path: Path) -> None:
    out = tmp_path / "out" / "case.age"
    out.parent.mkdir()
    receipt = out.with_name(out.name + ".receipt.json")
    with silent_tsa() as hung:
        extra = ("--tsa", hung) if moment == "waiting for the TSA" else ()
        proc = start_seal(seal_argv(big_case, out, keyset.recipient, keyset, *extra))
        partial = partial_of(out, proc.pid)
        if moment == "at start":
            time.sleep(0.15)
        elif moment == "first bytes":
            assert wait_until(proc, partial.exists, "the partial archive"), proc.communicate()
        elif moment == "mid-stream":
            assert wait_until(proc, size_at_least(partial, PAYLOAD // 2), "half the archive"), proc.communicate()
        elif moment == "waiting for the TSA":
            assert wait_until(proc, size_at_least(partial, PAYLOAD), "the whole payload"), proc.communicate()
            time.sleep(0.2)  # the seal now waits for the time-stamp that never comes
        else:
            wait_until(proc, out.exists, "the published archive")  # it may well have finished: fine
        proc.kill()
        proc.communicate(timeout=30)

    for name in leftovers(out.parent, out.name, receipt.name):
        found = PARTIAL.match(name)
        assert found and found["pid"] == str(proc.pid), name  # clearly named, never mistaken for the archive
        assert found["final"] in (out.name, receipt.name), name
    if moment == "waiting for the TSA":
        assert not out.exists()
    if out.exists():
        assert_verifies(out, keyset)  # complete (and its receipt too, when it was published)
    assert case_state(big_case) == big_state

    if not out.exists():
        again = run_seal(seal_argv(big_case, out, keyset.recipient, keyset))
        assert again.returncode == 0, again.stderr
        assert leftovers(out.parent, out.name, receipt.name) == []  # the stale partial was removed
        assert_verifies(out, keyset)
        assert case_state(big_case) == big_state


STOPS = [
    (signal.SIGINT, "age1", "mid-stream"),
    (signal.SIGTERM, "age1", "mid-stream"),
    (signal.SIGTERM, "ssh", "mid-stream"),
    (signal.SIGINT, "age1", "waiting for the TSA"),
    (signal.SIGTERM, "age1", "waiting for the TSA"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "kind", "moment"), STOPS,
                         ids=[f"{s.name}-{k}-{m.replace(' ', '-')}" for s, k, m in STOPS])
def test_sigint_and_sigterm_stop_the_seal_promptly_and_leave_nothing(
        signum: signal.Signals, kind: str, moment: str, big_case: Path, big_state: dict[str, str], keyset: Keyset,
        ssh_recipient: str, tmp_path: Path) -> None:
    out = tmp_path / "out" / "case.age"
    out.parent.mkdir()
    recipient = keyset.recipient if kind == "age1" else ssh_recipient
    with silent_tsa() as hung:
        extra = ("--tsa", hung) if moment == "waiting for the TSA" else ()
        proc = start_seal(seal_argv(big_case, out, recipient, keyset, *extra))
        partial = partial_of(out, proc.pid)
        wanted = PAYLOAD // 3 if moment == "mid-stream" else PAYLOAD
        assert wait_until(proc, size_at_least(partial, wanted), moment), proc.communicate()
        if moment == "waiting for the TSA":
            time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(signum)
        try:
            _, stderr = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"seal still running 20 s after {signum.name}") from None
        took = time.monotonic() - sent

    assert proc.returncode == (130 if signum == signal.SIGINT else 143), (proc.returncode, stderr, took)
    line = one_line(stderr)
    assert f"interrupted by {signum.name}" in line and "nothing was sealed" in line, line
    assert leftovers(out.parent) == []  # no archive, no receipt, no partial
    assert case_state(big_case) == big_state
