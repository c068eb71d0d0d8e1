"""Helpers for the seal fault tests: a real ``evidence-kit seal`` process, the case's fingerprint,
tmpfs mounts (the tests run as root), a TSA that accepts connections and never answers."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from evidence_kit.case.journal import check_journal
from tests.seal.helpers import Keyset, run_cli

PARTIAL = re.compile(r"^\.(?P<final>.+)\.partial-(?P<pid>\d+)$")


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the tests run as root in CI)")


def case_state(case: Path) -> dict[str, str]:
    """Every file of the case folder with its SHA-256; asserts the journal still verifies."""
    assert check_journal(case / "journal.jsonl").ok
    state = {}
    for path in sorted(case.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
            state[str(path.relative_to(case))] = digest.hexdigest()
        else:
            state[str(path.relative_to(case))] = "dir"
    return state


def seal_argv(case: Path, out: Path, recipient: str, keyset: Keyset, *extra: str) -> list[str]:
    return [sys.executable, "-m", "evidence_kit", "seal", str(case), "-r", recipient,
            "--sign-key", str(keyset.sign_key), "-o", str(out), *extra]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "EVIDENCE_KIT_DEBUG"}  # no traceback mode


def start_seal(argv: list[str], prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen([*prefix, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())


def run_seal(argv: list[str], prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=300, env=_env())


def partial_of(out: Path, pid: int) -> Path:
    return out.with_name(f".{out.name}.partial-{pid}")


def wait_until(proc: subprocess.Popen[str], ready: Callable[[], bool], what: str, timeout: float = 120) -> bool:
    """Poll ``ready`` every few ms; False if the process ended first (it was faster than the poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.003)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")


def size_at_least(path: Path, size: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return path.stat().st_size >= size
        except FileNotFoundError:
            return False
    return ready


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


def leftovers(folder: Path, *finals: str) -> list[str]:
    """Names in ``folder`` other than the complete outputs ``finals``."""
    return sorted(n for n in os.listdir(folder) if n not in finals)


def assert_verifies(out: Path, keyset: Keyset) -> None:
    result = run_cli(["verify", out, "-i", keyset.identity, "--trust-key", keyset.sign_pub])
    assert result.exit_code == 0, result.output
    assert "ALL CHECKS PASSED" in result.output


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (mount's syntax: 300k, 1m) mounted on ``folder``, unmounted after."""
    needs_root()
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


@contextmanager
def silent_tsa() -> Iterator[str]:
    """A TSA that stopped responding: the port listens (the kernel completes the connection and
    takes the request), nobody ever answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/tsa"
