"""Capture then seal: what a scheduled run (cron, systemd timer, CI) does, in one call.

In order: capture (with RFC 3161 checkpoints of the journal when TSAs are given,
evidence_kit/case/checkpoints.py); seal one archive whose receipt links to the run before it
(evidence_kit/schedule/chain.py); journal the seal into the case; tell the alert channels what
changed (evidence_kit/schedule/alerts.py) and journal how each fared. Everything after the seal
goes into the case's journal, not into the archive just sealed, which stays exactly what its
receipt says; the next run's archive carries it (docs/scheduled-runs.md). A failing alert
channel is never fatal; a failing seal is raised after the alerts went out, and the evidence
stays in the case for the next run to seal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.capture import CaptureResult, Progress, capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import Inventory
from evidence_kit.secrets import SecretResolver

if TYPE_CHECKING:
    from evidence_kit.case.checkpoints import CheckpointSettings
    from evidence_kit.schedule.alerts import Delivery
    from evidence_kit.schedule.alerts_config import AlertChannels


@dataclass
class ScheduledRun:
    capture: CaptureResult
    seal: Any  # evidence_kit.seal.model.SealResult
    chain: dict[str, Any] | None = None  # the receipt's link to the run before (schedule/chain.py)
    alerts: list[Delivery] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every target ended login_ok (the seal itself raises when it fails)."""
        return self.capture.ok

    def as_dict(self) -> dict[str, Any]:
        data = self.capture.as_dict()
        data["run"] = self.capture.run
        data["seal"] = self.seal.as_dict()
        data["chain"] = self.chain
        data["alerts"] = [d.as_dict() for d in self.alerts]
        data["warnings"] = list(self.warnings)
        return data


def archive_name(case_id: str, run: int, when: str) -> str:
    """<case id>-run<NNN>-<UTC time>.age: sorts by time and never collides with an earlier seal."""
    stamp = when.replace("-", "").replace(":", "").split(".")[0]
    return f"{case_id}-run{run:03d}-{stamp}Z.age"


def capture_and_seal(
    inventory: Inventory,
    case_root: Path,
    resolver: SecretResolver,
    archive_dir: Path,
    sign_key: Path,
    recipients: list[str],
    passphrase: bytes | None = None,
    tsa_urls: list[str] | None = None,
    tsa_roots: list[Any] | None = None,
    options: RunOptions | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
    *,
    checkpoints: CheckpointSettings | None = None,
    alerts: AlertChannels | None = None,
) -> ScheduledRun:
    from evidence_kit.case.checkpoints import Checkpointer
    from evidence_kit.case.journal import utc_now
    from evidence_kit.errors import EvidenceKitError
    from evidence_kit.schedule.chain import previous_link, read_receipt, sealed_record
    from evidence_kit.schedule.record import ALERT, RUN_SEALED, append_after_seal
    from evidence_kit.seal.seal import SealOptions, seal

    checkpointer = Checkpointer(checkpoints) if checkpoints is not None and checkpoints.enabled else None
    report = capture(inventory, case_root, resolver, options, only, progress, checkpoints=checkpointer)
    archive_dir.mkdir(parents=True, exist_ok=True)
    link = previous_link(Path(case_root), archive_dir, report.case_id)
    warnings = [link.warning] if link.warning else []
    chain = link.chain_field(report.run)
    output = archive_dir / archive_name(report.case_id, report.run, utc_now())
    sealed = None
    failure: EvidenceKitError | None = None
    try:
        sealed = seal(SealOptions(
            case_dir=Path(case_root), output=output, sign_key=sign_key, recipients=recipients,
            passphrase=passphrase, tsa_urls=list(tsa_urls or []), tsa_roots=list(tsa_roots or []), chain=chain,
        ))
    except EvidenceKitError as exc:
        if alerts is None:
            raise
        failure = exc
    record: dict[str, Any] = {}
    if sealed is not None:
        body = read_receipt(Path(sealed.receipt)) or {}
        record = sealed_record(Path(sealed.receipt), body)
        problem = append_after_seal(Path(case_root), [(RUN_SEALED, record)])
        if problem:
            warnings.append(f"the seal is not recorded in the case journal: {problem}")
    deliveries: list[Delivery] = []
    if alerts is not None:
        from evidence_kit.schedule.alerts import RunFacts, send_alerts
        from evidence_kit.schedule.changes import read_history

        facts = RunFacts(
            case_id=report.case_id, client=inventory.case.client, provider=inventory.case.provider, run=report.run,
            finished=utc_now(), archive=record.get("archive"), archive_sha256=record.get("archive_sha256"),
            receipt=record.get("receipt"), receipt_sha256=record.get("receipt_sha256"),
            position=record.get("position"), seal_problem=failure.one_line() if failure else None,
        )
        deliveries = send_alerts(alerts, read_history(Path(case_root)), facts, [r.name for r in report.results])
        for delivery in deliveries:
            if not delivery.delivered:
                warnings.append(f"alert via {delivery.channel} {delivery.destination} not delivered: "
                                f"{delivery.outcome} (journaled; the next run tells it again)")
        if deliveries:
            problem = append_after_seal(Path(case_root), [(ALERT, d.journal_form()) for d in deliveries])
            if problem:
                warnings.append(f"the alerts are not recorded in the case journal: {problem}")
    if failure is not None:
        raise failure
    return ScheduledRun(report, sealed, chain, deliveries, warnings)
