"""Capture: run every selected target of an inventory through its driver into a case folder.

Targets run in parallel (``concurrency``); one target's failure never stops the others. All
secrets of the selected targets are resolved before the first connection, so a technician
types every ``prompt`` secret up front and an unattended run with a missing variable stops
before it captures anything.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.hostfacts import run_facts
from evidence_kit.case.outcome import Outcome
from evidence_kit.case.session import TargetResult
from evidence_kit.drivers.base import Driver, Ending, RunOptions, TargetEnded, TargetJob, driver_class
from evidence_kit.errors import InventoryError, MachineError
from evidence_kit.interrupts import signal_of
from evidence_kit.inventory import Inventory
from evidence_kit.profiles.base import ProfileBase
from evidence_kit.profiles.target import TargetBase
from evidence_kit.secrets import Secret, SecretResolver

if TYPE_CHECKING:
    from evidence_kit.case.checkpoints import Checkpointer

# Seconds the targets still running get to end after the run is stopped (their drivers' cancel
# hooks close their connections at once; this only bounds a driver that ignores them).
CANCEL_GRACE = 10.0


@dataclass
class Progress:
    """Callbacks a front end (CLI, demo, tests) may set; all optional, called from threads."""

    started: Callable[[TargetBase], None] | None = None
    finished: Callable[[TargetResult], None] | None = None


@dataclass
class CaptureResult:
    case_root: Path
    case_id: str
    run: int
    results: list[TargetResult] = field(default_factory=list)
    # target -> (outcome in the case's previous run or None if new, outcome now); only changes
    changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.outcome.is_success for r in self.results)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.outcome.value] = out.get(r.outcome.value, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": str(self.case_root), "case_id": self.case_id, "all_ok": self.ok,
            "counts": self.counts(), "targets": [r.as_dict() for r in self.results],
            "changed_since_last_run": {k: {"before": b, "now": n} for k, (b, n) in self.changes.items()},
        }


def case_details(inventory: Inventory) -> CaseDetails:
    block = inventory.case
    auth = block.authorization
    if auth is not None:
        auth = auth if auth.is_absolute() else inventory.path.parent / auth
        if not auth.is_file():
            raise InventoryError(str(inventory.path), f"field 'case.authorization': file not found: {auth}")
    return CaseDetails(
        client=block.client, provider=block.provider, technician=block.technician,
        purpose=block.purpose, authorization=auth, recipients=tuple(block.recipients),
    )


def resolve_secrets(
    inventory: Inventory, targets: list[TargetBase], resolver: SecretResolver
) -> dict[str, dict[str, Secret]]:
    return {
        t.name: {**{f: resolver.resolve(ref, f"target '{t.name}' field '{f}'") for f, ref in t.secret_refs().items()},
                 **_route_secrets(t, resolver)}
        for t in targets
    }


def _route_secrets(target: TargetBase, resolver: SecretResolver) -> dict[str, Secret]:
    """A hop's or proxy's secrets (evidence_kit/route/), filed in the target's session under their
    own field names; their labels name the hop or proxy, so one shared by many targets is asked once."""
    route = getattr(target, "route", None)
    if route is None:
        return {}
    return {f: resolver.resolve(ref, label) for f, (ref, label) in route.secret_refs.items()}


class _Drivers:
    """One driver instance per kind per run, made on first use (thread-safe)."""

    def __init__(self, options: RunOptions) -> None:
        self._options = options
        self._made: dict[str, Driver] = {}
        self._lock = threading.Lock()

    def get(self, profile: ProfileBase) -> Driver:
        with self._lock:
            if profile.kind not in self._made:
                self._made[profile.kind] = driver_class(profile)(self._options)
            return self._made[profile.kind]

    def close(self) -> None:
        for driver in self._made.values():
            try:
                driver.close()
            except Exception:  # noqa: S110 - closing must not hide the run's results
                pass


def capture(
    inventory: Inventory,
    case_root: Path,
    resolver: SecretResolver,
    options: RunOptions | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
    case_id: str | None = None,
    checkpoints: Checkpointer | None = None,
) -> CaptureResult:
    """Capture the selected targets into ``case_root``.

    Stops early in two ways, both leaving a usable case: an interrupt (KeyboardInterrupt, which
    the CLI also raises for SIGTERM) cancels the run — queued targets do not start, running ones
    are closed by their drivers' cancel hooks and recorded as interrupted within ``CANCEL_GRACE``
    seconds — and is raised again; the machine refusing a write (disk full...) does the same
    and raises the :class:`~evidence_kit.errors.MachineError`. ``checkpoints`` time-stamps the
    journal head when the run starts and after each target ends (evidence_kit/case/checkpoints.py).
    """
    options = options or RunOptions()
    progress = progress or Progress()
    targets = inventory.select(only or [])
    details = case_details(inventory)
    kinds = {p.kind: p for p in (inventory.profile_of(t) for t in targets)}
    for kind in sorted(kinds):
        driver_class(kinds[kind]).preflight(options)
    secrets = resolve_secrets(inventory, targets, resolver)

    facts = run_facts(inventory.sha256, {"inventory": inventory.path.name, "targets": [t.name for t in targets]})
    case = Case.open_for_capture(Path(case_root), details, facts, case_id=case_id)
    before = previous_outcomes(case.root)
    drivers = _Drivers(options)
    results: dict[str, TargetResult] = {}
    if checkpoints is not None:
        checkpoints.run_started(case)  # before any target: every login gets a trusted lower bound

    def one(target: TargetBase) -> None:
        if case.cancellation.is_set():
            return  # queued when the run was stopped: never started
        profile = inventory.profile_of(target)
        if progress.started:
            progress.started(target)
        with case.target(target.name, profile.kind, profile.name, target.address,
                         secrets=secrets[target.name]) as session:
            ending = _run_driver(drivers.get(profile), TargetJob(target, profile, session, case))
            if case.fault is not None:
                # The disk is full (or read-only...): stop every other target now, not when the
                # main thread gets round to this one's result.
                case.cancellation.cancel(f"stopped ({case.fault.one_line()})")
                raise case.fault
            if session.cancelled:
                ending = Ending(Outcome.ERROR, f"{case.cancellation.reason} before the capture finished "
                                f"(the driver said: {ending.detail})")
            session.finish(ending.outcome, ending.detail, **ending.data)
        assert session.result is not None
        results[target.name] = session.result
        if checkpoints is not None:
            checkpoints.target_finished(case, session.result)
        if progress.finished:
            progress.finished(session.result)

    pool = ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="target")
    try:
        # Make each kind's driver (and import its libraries) before the targets start, so the
        # first wave of targets does not queue behind an import.
        for profile in kinds.values():
            drivers.get(profile)
        futures = [pool.submit(one, t) for t in targets]
        try:
            # The first target to raise (the machine's refusal) stops the run at once.
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in sorted(futures, key=lambda f: not (f.done() and f.exception() is not None)):
                future.result()
        except BaseException as exc:
            case.cancellation.cancel(
                f"interrupted by {signal.Signals(signal_of(exc)).name}" if isinstance(exc, KeyboardInterrupt)
                else f"stopped ({exc.one_line() if isinstance(exc, MachineError) else exc})")
            pool.shutdown(wait=False, cancel_futures=True)
            # Only those that started: a future cancelled in the queue is never "done" for wait(),
            # which would then sit out the whole grace (the 10 s exits of issue 10).
            wait([f for f in futures if not f.cancelled()], timeout=CANCEL_GRACE)
            raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        drivers.close()
        if checkpoints is not None:
            checkpoints.close(case)
        result = CaptureResult(case.root, case.case_id, case.journal.run,
                               [results[t.name] for t in targets if t.name in results])
        result.changes = {r.name: (before.get(r.name), r.outcome.value) for r in result.results
                          if before and before.get(r.name) != r.outcome.value}
        summary: dict[str, Any] = {"counts": result.counts(), "targets": len(targets)}
        if case.cancellation.is_set():
            summary["stopped"] = case.cancellation.reason
            summary["not_finished"] = [t.name for t in targets if t.name not in results]
        case.close(summary)
    return result


def _run_driver(driver: Driver, job: TargetJob) -> Ending:
    """The one place a target's ending is decided: returned, raised, or a crash (``error``)."""
    try:
        return driver.capture(job)
    except TargetEnded as ended:
        return ended.ending
    except Exception as exc:  # a driver bug is evidence too; the run goes on
        return Ending(Outcome.ERROR, f"{type(exc).__name__}: {exc}")


def default_case_dir(inventory: Inventory) -> Path:
    """cases/<client>-<YYYY-MM> beside where the command runs: one case per client per month."""
    from evidence_kit.case.journal import utc_now
    from evidence_kit.case.session import slug

    return Path("cases") / f"{slug(inventory.case.client).lower()}-{utc_now()[:7]}"


def previous_outcomes(case_root: Path) -> dict[str, str]:
    """Each target's last outcome in a case just opened for capture (for 'what changed since
    last run'). Opening it checked the journal's chain and holds the case's lock, so it is read
    here without checking the chain a second time."""
    from evidence_kit.case.journal import JOURNAL_NAME, read_entries

    path = Path(case_root) / JOURNAL_NAME
    out: dict[str, str] = {}
    try:
        for entry in read_entries(path):
            if entry.get("event") == "target_finished" and entry.get("target"):
                out[entry["target"]] = str(entry["data"].get("outcome"))
    except OSError:
        return {}  # unreadable: opening the case says why, in the machine's words
    return out
