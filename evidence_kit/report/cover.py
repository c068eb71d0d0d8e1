"""The cover's answer to a reviewer's first question: did the handed-over credentials work?

It is answered apart from the second question, whether the evidence is intact (the
verification result): a sealed archive can be perfectly intact and show that half the logins
failed. Only ``login_ok`` is a full success (``evidence_kit/case/outcome.py``); every other
target is named on the cover with its outcome in words.
"""

from __future__ import annotations

from evidence_kit.case.outcome import Outcome
from evidence_kit.report.model import CredentialsAnswer, MissedTarget, OutcomeCount, TargetView
from evidence_kit.report.sentences import outcome_words
from evidence_kit.report.wording import short


def _worked(outcome: str) -> bool:
    """The credential got in (with or without the expected access)."""
    try:
        return Outcome(outcome).credential_worked
    except ValueError:  # "no outcome recorded", or anything a failed journal says
        return False


def credentials_answer(targets: list[TargetView], readable: bool) -> CredentialsAnswer:
    if not readable:
        return CredentialsAnswer("UNKNOWN", "unknown",
                                 "the archive could not be read, so no login can be shown")
    total = len(targets)
    if total == 0:
        return CredentialsAnswer("NO TARGETS", "unknown", "the case holds no login attempt")
    counts: dict[str, int] = {}
    for t in targets:
        counts[t.outcome] = counts.get(t.outcome, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] != Outcome.LOGIN_OK, not _worked(kv[0]), kv[0]))
    rows = [OutcomeCount(outcome, n, outcome_words(outcome)) for outcome, n in ordered]
    misses = [MissedTarget(t.name, t.anchor, t.outcome, outcome_words(t.outcome), short(t.detail, 240))
              for t in targets if not t.ok]
    ok = sum(1 for t in targets if t.ok)
    limited = sum(1 for t in targets if _worked(t.outcome)) - ok
    if ok == total:
        verdict, tone = "YES", "passed"
        headline = f"all {total} logged in with the expected access" if total > 1 else \
            "the target logged in with the expected access"
    elif ok or limited:
        verdict, tone = "PARTLY", "warn"
        headline = f"{ok} of {total} logged in with the expected access"
        if limited:
            headline += f"; {limited} {'more ' if ok else ''}logged in with less access"
    else:
        verdict, tone = "NO", "failed"
        headline = f"none of the {total} logged in" if total > 1 else "the target did not log in"
    return CredentialsAnswer(verdict, tone, headline, rows, misses)
