"""One SSH connection per hop per run, shared by every target that passes through it.

A hundred switches behind one bastion need one login to the bastion, not a hundred: fewer
handshakes (the run is faster), and a refused hop password is tried once, not a hundred times
(the bastion's lockout policy counts every try). The first target that needs a hop opens it — its
journal holds that hop's handshake, host key check and authentication — and every later target
journals ``hop_reused`` with the same host key, check and login, and who opened it when (a
connection's host key cannot change while it is open, so the check still holds).

A hop that failed (refused password, wrong host key, unreachable) is not tried again in this run:
the targets behind it end with the same outcome and say which target found it. Keys are the
route up to and including the hop (proxy and every hop before it, credentials by reference), so
two routes share a connection only when they would have opened the same one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evidence_kit.drivers.base import TargetEnded

if TYPE_CHECKING:
    import paramiko

    from evidence_kit.drivers.base import Ending


@dataclass
class HopEntry:
    """An open hop connection and the evidence of how it was opened."""

    transport: paramiko.Transport
    facts: dict[str, Any]  # the Link's facts (host key, check, login)
    opened_by: str
    opened_at: str
    local: str = ""  # the first leg's local address, when this hop is the first
    users: int = 0


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    entry: HopEntry | None = None
    failure: Ending | None = None
    failed_by: str = ""


class HopPool:
    """Hop connections by route prefix; thread-safe; :meth:`close` ends them (deepest first)."""

    def __init__(self) -> None:
        self._slots: dict[Any, _Slot] = {}
        self._order: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(self, key: Any, target: str, opener: Callable[[], HopEntry]) -> tuple[HopEntry, bool]:
        """The open connection for ``key`` (opened by ``opener`` if none is alive); True when reused.

        Raises the first failure again (as :class:`TargetEnded`) for every later target.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the hop pool is closed")
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
                self._order.append(key)
        with slot.lock:
            if slot.failure is not None:
                raise TargetEnded(slot.failure.outcome, f"{slot.failure.detail} (found by target "
                                  f"'{slot.failed_by}' in this run; not tried again)", **dict(slot.failure.data))
            entry = slot.entry
            if entry is not None and entry.transport.is_active():
                entry.users += 1
                return entry, True
            try:
                entry = opener()
            except TargetEnded as ended:
                slot.failure, slot.failed_by = ended.ending, target
                raise
            entry.users = 1
            slot.entry = entry
            return entry, False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            keys = list(reversed(self._order))
        for key in keys:
            entry = self._slots[key].entry
            if entry is not None:
                try:
                    entry.transport.close()
                except Exception:  # noqa: S110 - closing a dead connection must not fail the run
                    pass
