"""Alerts on change: one message per channel and run, only when something changed.

After the seal (so a message can name the archive that holds the evidence), each channel gets
the changes *it* has not been told about (evidence_kit/schedule/changes.py), as one e-mail or
one signed webhook POST. Nothing is raised: a channel that fails is a :class:`Delivery` with
``delivered`` False and the reason in one line, logged as a warning and journaled by the caller,
and the next run tells it again while the change still stands.

What a message holds: the case, client and run, per changed target its name, address, profile,
the change in words, the outcome before and now and the device's (already redacted) detail,
and the archive and receipt names and SHA-256. Never a secret: the target passwords never
reach the journal, the SMTP password only the AUTH command, the webhook secret only the HMAC.
The webhook delivery id is ``<case id>.run<N>.webhook``, the same on every retry of one run's
notification (receivers drop duplicates by it).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from typing import Any

from evidence_kit import __version__
from evidence_kit.errors import EvidenceKitError
from evidence_kit.schedule.alerts_config import AlertChannels, EmailChannel, WebhookChannel
from evidence_kit.schedule.changes import Change, History, TargetState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFacts:
    """What every message says about the run."""

    case_id: str
    client: str
    provider: str
    run: int
    finished: str
    archive: str | None = None
    archive_sha256: str | None = None
    receipt: str | None = None
    receipt_sha256: str | None = None
    position: int | None = None
    seal_problem: str | None = None
    host: str = field(default_factory=socket.gethostname)


@dataclass
class Delivery:
    channel: str
    destination: str  # the server or the webhook's origin (never a URL's path: it may hold a token)
    delivered: bool
    outcome: str  # one line
    changes: list[Change]
    states: dict[str, TargetState]
    result: dict[str, Any] = field(default_factory=dict)

    def journal_form(self) -> dict[str, Any]:
        return {"channel": self.channel, "destination": self.destination, "delivered": self.delivered,
                "outcome": self.outcome, "changes": [c.as_dict() for c in self.changes],
                "states": {k: v.as_dict() for k, v in self.states.items()}, "result": self.result}

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.journal_form().items() if k != "states"}


def subject(prefix: str, facts: RunFacts, changes: list[Change]) -> str:
    problems = [c for c in changes if not c.recovery]
    recovered = [c for c in changes if c.recovery]
    parts = []
    if problems:
        parts.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    if recovered:
        parts.append(f"{len(recovered)} recover{'ies' if len(recovered) != 1 else 'y'}")
    names = ", ".join(c.target for c in changes[:3]) + (", ..." if len(changes) > 3 else "")
    return f"{prefix} {facts.client}: {' and '.join(parts)} ({names})".strip()


def text_body(facts: RunFacts, changes: list[Change]) -> str:
    lines = [f"evidence-kit found {len(changes)} change(s) in case {facts.case_id} ({facts.client}), run {facts.run},",
             f"captured on {facts.host}, finished {facts.finished}.", ""]
    for c in changes:
        mark = "RECOVERED" if c.recovery else "PROBLEM  "
        was = f"; was {c.before}" if c.before else ""
        lines.append(f"{mark} {c.target} ({c.address or '-'}, {c.profile or '-'}): {c.words}")
        lines.append(f"          now {c.now}{was}" + (f": {c.detail}" if c.detail else ""))
    lines.append("")
    if facts.archive:
        lines.append(f"Evidence: {facts.archive} (sha256 {facts.archive_sha256})")
        lines.append(f"Receipt:  {facts.receipt} (sha256 {facts.receipt_sha256}), run {facts.position} of the "
                     "history")
    else:
        lines.append(f"The run could not be sealed ({facts.seal_problem}); the evidence stays in the case folder "
                     "and the next run seals it.")
    lines += ["", f"Sent by evidence-kit {__version__}. This message holds no secret."]
    return "\n".join(lines) + "\n"


def payload(facts: RunFacts, changes: list[Change]) -> dict[str, Any]:
    return {
        "type": "evidence-kit.alert", "version": 1, "tool": f"evidence-kit {__version__}",
        "case_id": facts.case_id, "client": facts.client, "provider": facts.provider, "run": facts.run,
        "host": facts.host, "finished": facts.finished,
        "changes": [c.as_dict() for c in changes],
        "archive": {"name": facts.archive, "sha256": facts.archive_sha256} if facts.archive else None,
        "receipt": {"name": facts.receipt, "sha256": facts.receipt_sha256, "position": facts.position}
        if facts.receipt else None,
        "seal_problem": facts.seal_problem,
    }


def _send_email(channel: EmailChannel, facts: RunFacts, changes: list[Change]) -> tuple[bool, str, dict[str, Any]]:
    from evidence_kit.notify.message import build_message
    from evidence_kit.notify.smtp import send_message

    try:
        msg = build_message(
            sender=channel.sender, to=list(channel.to), cc=[*channel.cc, channel.client],
            subject=subject(channel.subject_prefix, facts, changes), text=text_body(facts, changes),
            headers={"Auto-Submitted": "auto-generated", "X-Evidence-Kit-Case": facts.case_id},
        )
        delivery = send_message(msg, channel.settings, required_recipients=[channel.client])
    except EvidenceKitError as exc:
        return False, exc.one_line(), {"problem": exc.one_line()}
    return True, f"sent {delivery.message_id}: {delivery.final_reply}", delivery.as_dict()


def _send_webhook(channel: WebhookChannel, facts: RunFacts, changes: list[Change]
                  ) -> tuple[bool, str, dict[str, Any]]:
    from evidence_kit.notify.webhook import post_json

    try:
        delivery = post_json(channel.settings, payload(facts, changes),
                             delivery_id=f"{facts.case_id}.run{facts.run}.webhook")
    except EvidenceKitError as exc:
        return False, exc.one_line(), {"problem": exc.one_line()}
    return delivery.delivered, delivery.outcome, delivery.as_dict()


def send_alerts(channels: AlertChannels, history: History, facts: RunFacts, targets: list[str]) -> list[Delivery]:
    """Tell each channel what changed for it (see the module docstring); never raises."""
    from evidence_kit.schedule.changes import changes_for

    now = history.runs.get(facts.run, {})
    out = []
    for name, channel in (("email", channels.email), ("webhook", channels.webhook)):
        if channel is None:
            continue
        changes = changes_for(name, history, facts.run, targets)
        if not changes:
            continue
        states = {c.target: now[c.target] for c in changes}
        if isinstance(channel, EmailChannel):
            destination = channel.settings.server
            delivered, outcome, result = _send_email(channel, facts, changes)
        else:
            destination = channel.origin
            delivered, outcome, result = _send_webhook(channel, facts, changes)
        delivery = Delivery(name, destination, delivered, outcome, changes, states, result)
        if delivered:
            log.info("alert via %s %s: %s", name, destination, outcome)
        else:
            log.warning("alert via %s %s NOT delivered: %s", name, destination, outcome)
        out.append(delivery)
    return out


def preflight(channels: AlertChannels) -> list[str]:
    """Check the channels before anything is captured; return warnings.

    A refused SMTP login (a rotated password) or settings that cannot work (a CA file that does
    not load) are bad input: raised, exit 2, before a single target is touched, as a missing
    secret is. A server that cannot be reached *now* is only a warning: it may be back when the
    run ends, and if not, the failure is journaled and the next run tells the channel again.
    """
    from evidence_kit.notify.errors import NotifyInputError, SmtpAuthError, SmtpError
    from evidence_kit.notify.smtp import check_login
    from evidence_kit.notify.tls import client_context

    warnings = []
    if channels.email is not None:
        try:
            check_login(channels.email.settings)
        except (SmtpAuthError, NotifyInputError):
            raise
        except SmtpError as exc:
            warnings.append(f"alerts: {exc.one_line()}; the run goes on and tries again when it has something to send")
    if channels.webhook is not None and channels.webhook.settings.url.scheme == "https":
        client_context(channels.webhook.settings.tls)  # an unreadable CA file is a NotifyInputError
    return warnings
