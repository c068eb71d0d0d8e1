"""Stop signals: Ctrl-C (SIGINT) and SIGTERM end a run the same way, with their own exit codes.

systemd, timeout(1) and CI runners stop a process with SIGTERM; a technician presses Ctrl-C.
Both must leave the same thing behind (a usable case, no partial archive), so SIGTERM is raised
as :class:`Stopped`, a ``KeyboardInterrupt``: every place that handles Ctrl-C handles it too.
The exit code still tells them apart, as a shell reports it: 128 + the signal number (130 for
SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
from types import FrameType


class Stopped(KeyboardInterrupt):
    """A stop signal other than Ctrl-C, raised where Ctrl-C would be."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signal_of(exc: BaseException) -> int:
    """The signal an interrupt stands for (SIGINT for a plain KeyboardInterrupt)."""
    return int(getattr(exc, "signum", signal.SIGINT))


def exit_code_of(exc: BaseException) -> int:
    return 128 + signal_of(exc)


def raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def install() -> None:
    """Raise SIGTERM as :class:`Stopped` in the main thread (call once, from the entry point)."""
    signal.signal(signal.SIGTERM, raise_stopped)


# Handlers a component may replace for a while (the seal's own guard): Python's defaults and ours.
REPLACEABLE = (signal.default_int_handler, signal.SIG_DFL, raise_stopped)
