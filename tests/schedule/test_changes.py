"""The change rules alerts follow (pure logic; the end-to-end runs are in test_alerts.py)."""

from __future__ import annotations

import pytest

from evidence_kit.schedule.changes import History, TargetState, changes_for, classify

OK = TargetState("login_ok", host_key="SHA256:aaa")


@pytest.mark.parametrize(("before", "now", "kind"), [
    (OK, TargetState("auth_failed"), "credential_failed"),
    (TargetState("auth_failed"), OK, "credential_recovered"),
    (OK, TargetState("login_limited", host_key="SHA256:aaa"), "privilege_lowered"),
    (TargetState("login_limited"), OK, "privilege_restored"),
    (OK, TargetState("unreachable"), "unreachable"),
    (OK, TargetState("timeout"), "unreachable"),
    (TargetState("unreachable"), TargetState("timeout"), None),
    (TargetState("timeout"), OK, "reachable_again"),
    (OK, TargetState("host_key_mismatch"), "host_key_changed"),
    (OK, TargetState("certificate_mismatch"), "certificate_changed"),
    (TargetState("host_key_mismatch"), OK, "identity_restored"),
    (OK, TargetState("login_ok", host_key="SHA256:bbb"), "host_key_changed"),
    (TargetState("login_ok", certificate="11"), TargetState("login_ok", certificate="22"), "certificate_changed"),
    (OK, TargetState("mfa_required"), "outcome_changed"),
    (OK, OK, None),
])
def test_classify(before: TargetState, now: TargetState, kind: str | None) -> None:
    assert classify(before, now) == kind


def test_reference_is_what_the_channel_was_last_told() -> None:
    failed = TargetState("auth_failed", run=2)
    history = History(runs={1: {"a": OK}, 2: {"a": failed}, 3: {"a": failed}}, told={})
    # Never told: compared with "working", so the failure is reported, at run 2 and again at 3.
    assert [c.kind for c in changes_for("email", history, 2)] == ["credential_failed"]
    assert [c.kind for c in changes_for("email", history, 3)] == ["credential_failed"]
    history.told["email"] = {"a": failed}  # told at run 2: nothing new at run 3
    assert changes_for("email", history, 3) == []
    assert [c.kind for c in changes_for("webhook", history, 3)] == ["credential_failed"]  # the webhook was not
    # A first run with alerts: a target that never worked is reported; one that works is not.
    first = History(runs={1: {"a": TargetState("login_limited"), "b": OK}}, told={})
    assert [(c.target, c.kind, c.before) for c in changes_for("email", first, 1)] == [("a", "privilege_lowered", None)]
