"""Each target's trusted time bracket, for the report: when, by RFC 3161, its login happened.

The bracket comes from the capture's checkpoints (evidence_kit/seal/checkpoints.py): the login
began after the last checkpoint journaled before it and had ended by the first checkpoint
covering its end. The report states it only when verify passed the journal and the checkpoint
tokens; whether the TSAs themselves were checked against trusted roots is said in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evidence_kit.report.model import TargetView
from evidence_kit.seal.model import Status, Verification


def _status(checked: Verification, name: str) -> Status | None:
    return next((c.status for c in checked.checks if c.name == name), None)


def fill(targets: Mapping[str, TargetView], journal: Path, checked: Verification) -> None:
    """Set ``trusted_time`` on each view (keyed by the journal's target name)."""
    from evidence_kit.seal.checkpoints import analyse

    if _status(checked, "journal") is not Status.PASSED or _status(checked, "checkpoints") is None:
        return
    if _status(checked, "checkpoints") is Status.NOT_CHECKED:
        for view in targets.values():
            view.trusted_time = "none at capture (captured without checkpoints): see the seal's time-stamp"
        return
    if _status(checked, "checkpoints") is not Status.PASSED:
        for view in targets.values():
            view.trusted_time = "not shown: a checkpoint token failed verification (see the checks)"
        return
    trust = ("TSA verified against the given roots" if _status(checked, "checkpoints trust") is Status.PASSED
             else "TSA identity not checked")
    analysis = analyse(journal)
    for name, view in targets.items():
        login = analysis.bracket(name)
        if login is None:
            continue
        after = f"after {login.not_before}" if login.not_before else "no checkpoint before it"
        before = f"by {login.not_after}" if login.not_after else "no checkpoint after it"
        if login.not_before and login.not_after:
            text = f"between {login.not_before} and {login.not_after} (RFC 3161, {trust})"
        else:
            text = f"began {after}; ended {before} (RFC 3161, {trust})"
        if login.missing:
            text += f"; no checkpoint from {', '.join(sorted(login.missing))}"
        view.trusted_time = text
