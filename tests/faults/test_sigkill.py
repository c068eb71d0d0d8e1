"""SIGKILL during case creation, at every one of its steps, and at chosen moments mid-capture.

(SIGKILL at a random moment of a capture into an existing case is tests/test_capture.py's
``test_sigkill_mid_capture_leaves_a_valid_prefix_and_case_reopens``.) Here the process kills
itself at its N-th step (faultkit.KILLER): half-way through a write, or either side of a rename.
A creation killed before its commit leaves only hidden leftovers, which the next capture removes;
killed between its renames (journal in place, case.json not yet), the next capture completes it;
killed after, it is a case. Killed mid-append, the torn line makes seal refuse with the way out
("open the case again"), and the next capture sets it aside. Each time the next capture into the
same folder works and the case seals and verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.create import LEFTOVERS
from evidence_kit.case.journal import JOURNAL_NAME, check_journal
from evidence_kit.demo.ssh_device import DemoDevice
from tests.faults.conftest import demo_env, demo_inventory
from tests.faults.faultkit import assert_case_consistent, cli_env, journal_events, killed_at, run_capture, two_states
from tests.helpers import assert_no_secrets
from tests.seal.helpers import Keyset


def journal_text(case: Path) -> bytes:
    try:
        return (case / JOURNAL_NAME).read_bytes()
    except FileNotFoundError:
        return b""


@pytest.mark.slow
def test_sigkill_at_every_step_of_case_creation(tmp_path: Path, device: DemoDevice, keyset: Keyset) -> None:
    inventory, env = demo_inventory(tmp_path / "inv", device), demo_env(device)
    states: list[str] = []
    for at in range(1, 40):
        case = tmp_path / f"case-{at}"
        assert killed_at(at, ["capture", inventory, "--case", case], cli_env(**env))
        if b'"run_started"' in journal_text(case):
            break  # killed after the creation: the capture test below
        names = set(os.listdir(case)) if case.exists() else set()
        killed_id = None
        if (case / "case.json").exists():
            state = "created"
        elif (case / JOURNAL_NAME).exists():
            state = "between renames"  # the journal is in place, case.json is not yet
            killed_id = json.loads((case / JOURNAL_NAME).read_bytes().splitlines()[0])["data"]["case_id"]
        else:
            state = "leftovers only"
            assert names <= set(LEFTOVERS), names  # hidden names only: no case.json without its journal
        if state not in states:  # the first time: a whole capture into the same folder
            assert run_capture(inventory, case, env).ok
        else:  # then what a capture does first: open (complete, or create afresh), and an empty run
            Case.open_for_capture(case, CaseDetails("Contoso", "Example MSP", "Tester"), {}).close({})
        states.append(state)
        entries = assert_case_consistent(case)
        created = [e for e in entries if e["event"] == "case_created"]
        assert len(created) == 1 and entries[0] is created[0]
        info = json.loads((case / "case.json").read_text())
        assert created[0]["data"]["case_id"] == info["case_id"]
        if killed_id is not None:
            assert info["case_id"] == killed_id  # completed, not started afresh
        assert not names & set(LEFTOVERS) or not set(os.listdir(case)) & set(LEFTOVERS)
        assert two_states(case, keyset, tmp_path / "checks").state == "usable"
    assert {"leftovers only", "between renames"} <= set(states), states
    assert len(states) >= 6, states
    print(f"\ncreation kill points: {len(states)}: {states}")
    assert_no_secrets(tmp_path, list(env.values()))


@pytest.mark.slow
def test_sigkill_mid_append_and_mid_transcript(tmp_path: Path, device: DemoDevice, keyset: Keyset) -> None:
    """Into an existing case: killed half-way through run_started's line, through a target's entry,
    through an asciicast event."""
    inventory, env = demo_inventory(tmp_path / "inv", device), demo_env(device)
    template = tmp_path / "template"
    assert run_capture(inventory, template, env).ok
    verdicts = {}
    for at, moment in ((1, "run_started"), (6, "a target's entry"), (30, "an asciicast event")):
        case = tmp_path / f"case-{at}"
        subprocess.run(["cp", "-a", str(template), str(case)], check=True)
        assert killed_at(at, ["capture", inventory, "--case", case], cli_env(**env)), moment
        check = check_journal(case / JOURNAL_NAME)
        assert check.ok, check.describe()  # a valid prefix, at most a torn final line
        verdict = two_states(case, keyset, tmp_path / "checks")
        if check.torn_tail_bytes:
            assert verdict.state == "refused" and "open the case again" in verdict.detail, verdict
        else:
            assert verdict.state == "usable", verdict
        verdicts[moment] = verdict.state
        again = run_capture(inventory, case, env)
        assert again.ok
        entries = assert_case_consistent(case)
        if check.torn_tail_bytes:
            assert [e for e in entries if e["event"] == "journal_recovered"]
        assert two_states(case, keyset, tmp_path / "checks").state == "usable"
        assert len([e for e in journal_events(case) if e["event"] == "case_created"]) == 1
    assert verdicts["run_started"] == "refused", verdicts
    print(f"\nmid-capture kill points: {verdicts}")
