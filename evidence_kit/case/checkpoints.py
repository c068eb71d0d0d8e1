"""Trusted time at capture: RFC 3161 time-stamps of the journal head while a run captures.

Why: the seal's time-stamp proves that the evidence existed when it was sealed, so a login
captured on Monday and sealed on Friday is proven only as of Friday. A *checkpoint* time-stamps
the journal head (the hash of its newest entry), which the hash chain binds to every entry
before it: each target's ending is proven to exist at the token's time. And because the token
is journaled, every entry after it was written after that time (the TSA's signature over its
time could not be known earlier). Together, per target, a trusted bracket: the last checkpoint
before its ``target_started``, the first one after its ``target_finished``
(evidence_kit/seal/checkpoints.py reads them back; docs/scheduled-runs.md).

How, without slowing the run: one checkpoint when the run starts (before any target, so every
target has a lower bound), then one worker thread per TSA. A target that ends only queues its
name; the worker time-stamps the head for every target queued since its last request, so one
request covers all the targets that ended while the previous one was in flight, and a slow or
dead TSA delays no target. The imprint is the entry hash itself (SHA-256), so
``openssl ts -verify -digest HASH -in TOKEN.tsr -CAfile ROOT.pem`` checks it. A TSA that fails
is journaled (``checkpoint_failed``, naming the targets left uncovered) and asked again after
a back-off; capture goes on.

Journal events (target null): ``checkpoint`` {tsa, head, covers, token (base64 DER), time,
serial, tsa_name, trusted, reason} and ``checkpoint_failed`` {tsa, head, covers, problem, reason}.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

    from evidence_kit.case.case import Case
    from evidence_kit.case.journal import Journal
    from evidence_kit.case.session import TargetResult

CHECKPOINT = "checkpoint"
CHECKPOINT_FAILED = "checkpoint_failed"
DEFAULT_TIMEOUT = 10.0  # seconds per request: a checkpoint must never hold a run for long
MAX_BACKOFF = 30.0  # seconds between attempts at a TSA that keeps failing


@dataclass
class CheckpointSettings:
    """Which TSAs stamp the journal during capture, and how patiently."""

    tsa_urls: list[str] = field(default_factory=list)
    roots: list[x509.Certificate] = field(default_factory=list)  # check each token as it arrives
    timeout: float = DEFAULT_TIMEOUT

    @property
    def enabled(self) -> bool:
        return bool(self.tsa_urls)


def stamp_head(journal: Journal, url: str, covers: Iterable[str], reason: str, settings: CheckpointSettings
               ) -> dict[str, Any]:
    """Time-stamp the journal's current head at ``url`` and journal the token (or the failure).

    Returns the journaled entry. Never raises for the TSA; a journal the machine refuses raises
    as it would for any entry.
    """
    from evidence_kit.seal.timestamp import TimestampProblem, request_digest

    head = journal.head  # one attribute read: always the hash of a complete entry
    names = sorted(set(covers))
    try:
        der, info = request_digest(url, bytes.fromhex(head), timeout=settings.timeout,
                                   roots=settings.roots or None)
    except TimestampProblem as exc:
        return journal.append(CHECKPOINT_FAILED, {"tsa": url, "head": head, "covers": names, "problem": str(exc),
                                                  "reason": reason})
    return journal.append(CHECKPOINT, {
        "tsa": url, "head": head, "covers": names, "token": base64.b64encode(der).decode("ascii"),
        "time": info.gen_time, "serial": info.serial, "tsa_name": info.tsa_subject, "trusted": info.verified,
        "reason": reason,
    })


class _Worker:
    """One TSA's queue: names of targets that ended and are not covered yet."""

    def __init__(self, url: str, journal: Journal, settings: CheckpointSettings) -> None:
        self.url = url
        self.journal = journal
        self.settings = settings
        self.pending: list[str] = []
        self.cond = threading.Condition()
        self.stopping = False
        self.failures = 0
        self.thread = threading.Thread(target=self._loop, name=f"checkpoint-{url}", daemon=True)
        self.thread.start()

    def add(self, name: str) -> None:
        with self.cond:
            self.pending.append(name)
            self.cond.notify()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify()

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.pending and not self.stopping:
                    self.cond.wait()
                if not self.pending:
                    return
                if self.failures and not self.stopping:
                    # Back off from a failing TSA, gathering targets meanwhile; the last call at
                    # the end of the run is made at once.
                    self.cond.wait_for(lambda: self.stopping, timeout=min(MAX_BACKOFF, 2.0 ** self.failures))
                batch, self.pending = self.pending, []
                reason = "run_finished" if self.stopping else "targets_finished"
            try:
                entry = stamp_head(self.journal, self.url, batch, reason, self.settings)
            except Exception:  # the journal stopped (a fault, or closed): nothing more to stamp
                return
            self.failures = self.failures + 1 if entry["event"] == CHECKPOINT_FAILED else 0


class Checkpointer:
    """The capture orchestrator's hooks: run started, a target finished, the run ends.

    Thread-safe; no method raises for a TSA. Used by evidence_kit/capture.py.
    """

    def __init__(self, settings: CheckpointSettings) -> None:
        self.settings = settings
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def run_started(self, case: Case) -> None:
        """Stamp the head once per TSA, in parallel, before any target starts (the lower bound)."""
        threads = [threading.Thread(target=self._first, args=(case.journal, url), daemon=True)
                   for url in self.settings.tsa_urls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.settings.timeout + 5)
        with self._lock:
            self._workers = [_Worker(url, case.journal, self.settings) for url in self.settings.tsa_urls]

    def _first(self, journal: Journal, url: str) -> None:
        try:
            stamp_head(journal, url, [], "run_started", self.settings)
        except Exception:  # noqa: S110 - a refused journal append is the case's fault, raised by capture
            pass

    def target_finished(self, case: Case, result: TargetResult) -> None:
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.add(result.name)

    def close(self, case: Case) -> None:
        """One last stamp covering every target still queued, waited for within the timeout.

        A stopped run (Ctrl-C, SIGTERM, a full disk) does not wait: what is uncovered is
        reported by verify as lacking a checkpoint.
        """
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()
        patience = 0.5 if case.cancellation.is_set() or case.fault is not None else self.settings.timeout + 5
        for worker in workers:
            worker.thread.join(patience)
