"""Shared helpers of the fault suite: a disk that fills at the N-th write, small real file systems,
the two-state rule, and running the real CLI as a process (signals, terminals).

The two-state rule (docs/case-format.md, "After a fault"): after any fault a case is either
*usable* — its journal verifies, every artifact it names matches the bytes on disk, it seals, and
the archive verifies — or *refused*: ``seal`` exits 2 with one line naming the reason and the way
out. Never "seals, then fails verify". :func:`two_states` checks it on a copy (``cp -a``) in a
folder with room, as a technician would after freeing space.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.case.journal import JOURNAL_NAME, check_journal, read_entries
from tests.seal.faults import needs_root, one_line, tmpfs
from tests.seal.helpers import Keyset, run_cli

__all__ = ["DiskFull", "Verdict", "assert_case_consistent", "cli_env", "journal_events", "needs_root",
           "one_line", "remount", "run_capture", "start_cli", "tmpfs", "two_states", "wait_for"]

PAGE = 4096
# What a refusal must offer besides its reason: one of these ways out.
WAYS_OUT = ("run capture again", "open the case again", "capture into a new folder", "free space",
            "wait for it", "choose a folder")

_real_write = os.write


def fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"fd {fd}"


@dataclass
class DiskFull:
    """Stands in for ``diskio.os_write``: the ``fail_at``-th write (1-based) writes ``keep`` of its
    data, as a filling disk does, and from then on every write is refused with ENOSPC (the disk
    stays full) until the injector is removed. ``fail_at=None`` only counts and logs."""

    fail_at: int | None = None
    keep: float = 0.5
    code: int = errno.ENOSPC
    # "disk": every later write is refused; "file": only later writes to the refused file are (a
    # tmpfs whose other files still have room in their last page, as the journal often has).
    full: str = "disk"
    writes: list[tuple[str, int]] = field(default_factory=list)  # (file, bytes asked) per write call
    failed: tuple[str, int] | None = None  # (file, how many of its bytes reached it)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        with self._lock:
            path = fd_path(fd)
            if self.failed is not None and (self.full == "disk" or path == self.failed[0]):
                raise OSError(self.code, os.strerror(self.code))
            self.writes.append((path, len(data)))
            if self.fail_at is None or len(self.writes) != self.fail_at:
                return _real_write(fd, data)
            part = int(len(data) * self.keep)
            self.failed = (path, part)
            if part:
                return _real_write(fd, bytes(data[:part]))  # a short write; the next call is refused
            raise OSError(self.code, os.strerror(self.code))

    @contextmanager
    def installed(self) -> Iterator[DiskFull]:
        from evidence_kit.case import diskio

        saved = diskio.os_write
        diskio.os_write = self
        try:
            yield self
        finally:
            diskio.os_write = saved


def run_capture(inventory: Path, case: Path, env: dict[str, str]) -> Any:
    """capture() in this process (the CLI's core: a CaptureResult), one target at a time, with the
    profiles beside the inventory (``profiles/``) if there are any; secrets from ``env``."""
    from evidence_kit.capture import capture
    from evidence_kit.drivers.base import RunOptions
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver

    profiles = inventory.parent / "profiles"
    inv = load_inventory(inventory, ProfileRegistry([profiles] if profiles.is_dir() else []))
    return capture(inv, case, SecretResolver(environ=env, base_dir=inventory.parent), RunOptions(concurrency=1))


def journal_events(case: Path) -> list[dict[str, Any]]:
    return list(read_entries(case / JOURNAL_NAME))


def assert_case_consistent(case: Path) -> list[dict[str, Any]]:
    """The journal verifies and every artifact it names has, on disk, the size and hash it records.

    Returns the entries. This is the promise of issue 10's first symptom: a record is the truth
    about the file.
    """
    check = check_journal(case / JOURNAL_NAME)
    assert check.ok, check.describe()
    entries = journal_events(case)
    for entry in entries:
        art = entry.get("artifact")
        if not art:
            continue
        path = case / art["path"]
        assert path.is_file(), f"entry {entry['seq']} names {art['path']}, which is missing"
        data = path.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (art["size"], art["sha256"]), (
            f"entry {entry['seq']} ({entry['event']}) records {art['path']} as {art['size']} bytes, "
            f"the disk has {len(data)}")
    return entries


@dataclass(frozen=True)
class Verdict:
    state: str  # "usable" or "refused"
    detail: str  # the refusal's line, or what was sealed
    seconds: float


def two_states(case: Path, keyset: Keyset, work: Path) -> Verdict:
    """Check the two-state rule on a copy of ``case`` in ``work`` (a folder with room)."""
    started = time.monotonic()
    work.mkdir(parents=True, exist_ok=True)
    copy = work / f"copy-{len(os.listdir(work))}"
    subprocess.run(["cp", "-a", str(case), str(copy)], check=True)
    out = copy.with_suffix(".age")
    sealed = run_cli(["seal", copy, "-r", keyset.recipient, "--sign-key", keyset.sign_key, "-o", out])
    if sealed.exit_code != 0:
        assert sealed.exit_code == 2, sealed.output
        line = one_line(sealed.output)
        assert any(way in line for way in WAYS_OUT), f"a refusal without a way out: {line}"
        assert not out.exists()
        return Verdict("refused", line, time.monotonic() - started)
    checked = run_cli(["verify", out, "-i", keyset.identity, "--trust-key", keyset.sign_pub])
    assert checked.exit_code == 0 and "ALL CHECKS PASSED" in checked.output, (
        "sealed, then failed verify:\n" + checked.output)
    assert_case_consistent(copy)
    return Verdict("usable", f"sealed {len(journal_events(copy))} entries", time.monotonic() - started)


# --- small real file systems ---------------------------------------------------------------------


def remount(folder: Path, size: str) -> None:
    """Give a mounted tmpfs a new size: the "free space, then run capture again" of a way out."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


# --- the real CLI as a process ---------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EVIDENCE_KIT_DEBUG"}  # no traceback mode
    env.update(extra)
    return env


def start_cli(args: list[Any], env: dict[str, str], **popen: Any) -> subprocess.Popen[str]:
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    popen.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-m", "evidence_kit", *map(str, args)], env=env, text=True, **popen)


def stop_and_wait(proc: subprocess.Popen[str], signum: int, bound: float) -> tuple[float, str, str]:
    """Send ``signum``; the seconds until the process ended, its stdout and stderr (killed, and an
    assertion error, past ``bound``)."""
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=bound)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"still running {bound:g} s after {signal.Signals(signum).name}: {err[-2000:]}") from None
    return time.monotonic() - sent, out, err


def wait_for(ready: Callable[[], bool], what: str, timeout: float = 60, proc: subprocess.Popen[str] | None = None,
             ) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended before {what}: {proc.communicate()}")
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def journal_has(case: Path, event: str, count: int = 1, **data: Any) -> Callable[[], bool]:
    """A predicate: the journal (read as it grows) holds ``count`` entries of ``event`` with ``data``."""
    def ready() -> bool:
        path = case / JOURNAL_NAME
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return False
        found = 0
        for line in raw.splitlines(keepends=True):
            if not line.endswith(b"\n") or f'"event":"{event}"'.encode() not in line:
                continue
            entry = json.loads(line)
            if all(entry["data"].get(k) == v for k, v in data.items()):
                found += 1
        return found >= count
    return ready


# --- SIGKILL at a chosen moment: the process kills itself there ------------------------------------

# Run as ``python -c KILLER AT ARGS...``: the AT-th step of the run is its last. A step is a case
# write (half of its data reaches the file first, as when a kill lands mid-write) or either side of
# a rename (case creation commits by renaming). A kill from outside lands on one of these moments
# or between them; this way every one of them is tried.
KILLER = """
import os, signal, sys
from evidence_kit.case import diskio

at, steps = int(sys.argv[1]), 0
real_write, real_rename = diskio.os_write, os.rename

def step():
    global steps
    steps += 1
    if steps == at:
        os.kill(os.getpid(), signal.SIGKILL)

def write(fd, data):
    global steps
    steps += 1
    if steps == at:
        real_write(fd, bytes(data[: max(1, len(data) // 2)]))
        os.kill(os.getpid(), signal.SIGKILL)
    return real_write(fd, data)

def rename(src, dst):
    step()
    real_rename(src, dst)
    step()

diskio.os_write, os.rename = write, rename
sys.argv = ["evidence-kit", *sys.argv[2:]]
from evidence_kit.cli import main
main()
"""


def killed_at(at: int, args: list[Any], env: dict[str, str]) -> bool:
    """Run the CLI with ``args`` until its ``at``-th step; True when it was killed there."""
    done = subprocess.run([sys.executable, "-c", KILLER, str(at), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)
    if done.returncode == -signal.SIGKILL:
        return True
    assert done.returncode in (0, 1), done.stderr
    return False


def run_on_a_terminal(argv: list[Any], env: dict[str, str], stdin: str | None = None, answers: tuple[str, ...] = (),
                      timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` with a new pty as its controlling terminal (and stdout/stderr); its stdin is the pty
    too, or the file ``stdin`` (a terminal is there, but standard input is redirected). Each time the
    output gains a line ending in ': ' an answer is typed. Killed, and an AssertionError, after
    ``timeout`` seconds: never a hang."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader with the pty as its controlling terminal
        try:
            if stdin is not None:
                redirected = os.open(stdin, os.O_RDONLY)
                os.dup2(redirected, 0)
            os.execvpe(sys.executable, [sys.executable, "-m", "evidence_kit", *map(str, argv)], env)  # noqa: S606
        finally:
            os._exit(127)
    output, answered = b"", 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"still running after {timeout:g} s (a hang): {output.decode(errors='replace')}")
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                output += chunk
                if answered < len(answers) and output.rstrip(b" ").endswith(b":"):
                    os.write(fd, answers[answered].encode() + b"\r")
                    answered += 1
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace").replace("\r\n", "\n")
