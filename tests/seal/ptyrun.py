"""Drive a CLI that reads secrets from the terminal (``age -p``, ``age -d``) through a pty."""

from __future__ import annotations

import os
import pty
import select
import time


def run_with_pty(argv: list[str], answers: list[str], timeout: float = 60.0) -> tuple[int, str]:
    """Run ``argv`` with a pty as its controlling terminal; answer each passphrase prompt in turn."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvp(argv[0], argv)  # noqa: S606 - a fixed test command, no shell
        finally:
            os._exit(127)
    output = b""
    answered = 0
    deadline = time.monotonic() + timeout
    status = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                output += chunk
                # each of age's prompts ("Enter passphrase (...):", "Confirm passphrase:") says it once
                prompts = output.lower().count(b"passphrase") - output.lower().count(b"passphrase-")
                while answered < min(prompts, len(answers)):
                    os.write(fd, answers[answered].encode() + b"\r")
                    answered += 1
            else:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
                    break
        else:
            os.kill(pid, 9)
            raise TimeoutError(f"{argv[0]} did not finish: {output.decode(errors='replace')}")
    finally:
        if status is None:
            _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")
