"""What every test server fixture shares: started and stopped as a context manager that always
cleans up, also when the start-up itself fails half-way (a server left running, a system user
left behind, would leak into the next test session)."""

from __future__ import annotations

import subprocess
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ServerFixture(Generic[T]):
    """``with Server() as handle:`` — ``start()`` returns what the tests use; ``stop()`` undoes
    whatever ``start()`` got to, and is called on a failed start as well as at the end."""

    def start(self) -> T:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> T:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def run_checked(args: list[str], stdin: str | None = None, timeout: float = 60) -> None:
    """Run a set-up command; its input (passwords for chpasswd) goes through stdin, never argv."""
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")


def add_user(name: str, password: str, comment: str, *, home: bool = True, shell: str = "/bin/bash",
             groups: tuple[str, ...] = ()) -> None:
    """A throw-away system user with a password (tests run as root); remove it with remove_users."""
    args = ["useradd", "--badname", "-m" if home else "-M", "-s", shell, "-c", comment]
    if groups:
        args += ["-G", ",".join(groups)]
    run_checked([*args, name])
    run_checked(["chpasswd"], stdin=f"{name}:{password}\n")


def remove_users(names: list[str]) -> None:
    """Remove throw-away users (-f: also with a session still open; -r: home and mail spool)."""
    for name in names:
        subprocess.run(["userdel", "-f", "-r", name], capture_output=True, timeout=30)
    names.clear()


def end_process(proc: subprocess.Popen[Any] | None, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds: a server child never outlives its fixture."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)
