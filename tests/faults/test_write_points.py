"""The N-th write of a run fails after writing part of its data (as a filling disk does), for every
N of a small capture against the in-process demo SSH device: case creation, the journal, the host
key, the asciicast and the text transcript. After each: the run stops with the machine's words
(disk full, the file, the way out), the case is complete or absent, every journal record matches
the bytes on disk, the case seals and the archive verifies (on a copy), and capture continues.

The injector replaces ``evidence_kit.case.diskio.os_write``, the one place a case byte is
written. Odd N leave the whole disk full afterwards, even N only the refused file (a tmpfs whose
journal page still has room): both ways a real disk fills.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.journal import JOURNAL_NAME
from evidence_kit.demo.ssh_device import DemoDevice
from evidence_kit.errors import DiskFullError
from tests.faults.conftest import demo_env, demo_inventory
from tests.faults.faultkit import DiskFull, assert_case_consistent, journal_events, run_capture, two_states
from tests.helpers import assert_no_secrets
from tests.seal.helpers import Keyset

CREATION_FILES = {"letter.txt", ".case.json.partial", ".journal.jsonl.partial"}


def faulted_capture(inventory: Path, case: Path, env: dict[str, str], n: int) -> tuple[DiskFull, DiskFullError | None]:
    injector = DiskFull(fail_at=n, full="disk" if n % 2 else "file")
    with injector.installed():
        try:
            run_capture(inventory, case, env)
        except DiskFullError as exc:
            return injector, exc
    return injector, None


def unjournaled(case: Path) -> list[str]:
    named = {e["artifact"]["path"] for e in journal_events(case) if e.get("artifact")}
    return sorted(p.relative_to(case).as_posix() for p in (case / "artifacts").rglob("*")
                  if p.is_file() and p.relative_to(case).as_posix() not in named)


def reopen(case: Path) -> list[dict[str, Any]]:
    """What the next capture does first: reopen (set a torn tail aside, journal what a faulted run
    could not), then an empty run."""
    Case.open_for_capture(case, CaseDetails("Contoso", "Example MSP", "Tester"), {}).close({})
    return assert_case_consistent(case)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, device: DemoDevice) -> tuple[Path, Path]:
    """A case with one good run, and its inventory: each N captures its second run into a copy
    (the same case salt, so the credential commitments' scrypt is computed once per process)."""
    folder = tmp_path_factory.mktemp("template")
    inventory = demo_inventory(folder, device, profile="demo_small")
    result = run_capture(inventory, folder / "case", demo_env(device))
    assert result.ok
    return inventory, folder / "case"


def test_every_write_point_of_case_creation(tmp_path: Path, device: DemoDevice, keyset: Keyset) -> None:
    """A case is created complete or absent: refused at any of its writes, nothing of it stays."""
    inventory, env = demo_inventory(tmp_path, device), demo_env(device)
    points = []
    for n in range(1, 20):
        case = tmp_path / f"case-{n}"
        injector, error = faulted_capture(inventory, case, env, n)
        assert injector.failed is not None and error is not None
        name = Path(injector.failed[0]).name
        if name not in CREATION_FILES:
            break  # the first write after the case exists: covered by the capture sweep below
        points.append(name)
        line = error.one_line()
        assert line.startswith(f"{case}: disk full (no space left on device) while creating the case"), line
        assert "then run capture again: nothing was kept" in line, line
        assert not case.exists()  # complete or absent: not even the folder this run made
    assert set(points) == CREATION_FILES, points  # the letter's copy, case.json, the journal's first entries
    again = run_capture(inventory, tmp_path / "case-1", env)  # room again: the same folder becomes a case
    assert again.ok
    assert two_states(tmp_path / "case-1", keyset, tmp_path / "checks").state == "usable"


@pytest.mark.slow
def test_every_write_point_of_a_capture(template: tuple[Path, Path], device: DemoDevice, keyset: Keyset,
                                        tmp_path: Path) -> None:
    inventory, source = template
    env = demo_env(device)
    table: list[tuple[int, str, int, str, float]] = []
    continued: set[str] = set()
    for n in range(1, 400):
        case = tmp_path / f"case-{n}"
        subprocess.run(["cp", "-a", str(source), str(case)], check=True)
        started = time.monotonic()
        injector, error = faulted_capture(inventory, case, env, n)
        if injector.failed is None:
            assert error is None
            shutil.rmtree(case)
            break  # N is past the last write of the run: every write point was tried
        refused, kept = Path(injector.failed[0]), injector.failed[1]
        assert error is not None, f"write {n} ({refused.name}) was refused and the run did not stop on it"
        line = error.one_line()
        doing = "appending to the journal" if refused.name == JOURNAL_NAME else "writing artifact"
        assert line.startswith(f"{refused}: disk full (no space left on device) while {doing}"), (n, line)
        assert "then run capture again" in line
        # The fault state itself: every record is the truth about its file (issue 10, symptom 1).
        entries = assert_case_consistent(case)
        if injector.full == "file" and refused.name != JOURNAL_NAME:
            (record,) = [e for e in entries if e.get("artifact") and e["artifact"]["path"].endswith(
                "/run002/" + refused.name)]
            assert record["data"]["complete"] is False and record["data"]["problem"], record
        verdict = two_states(case, keyset, tmp_path / "checks")
        assert verdict.state == "usable", (n, verdict)
        after = reopen(case)
        assert unjournaled(case) == [], n  # what the faulted run could not journal, the reopen did
        assert after[-1]["event"] == "run_finished"
        if refused.name not in continued or n % 25 == 0:
            continued.add(refused.name)  # the first fault of each kind (and every 25th): a full rerun
            again = run_capture(inventory, case, env)
            assert again.ok
            assert two_states(case, keyset, tmp_path / "checks").state == "usable"
        table.append((n, refused.name, kept, verdict.state, time.monotonic() - started))
        shutil.rmtree(case)
    kinds = {name for _, name, *_ in table}
    assert kinds == {JOURNAL_NAME, "host_key.pub", "session.cast", "session.txt"}, kinds
    assert len(table) >= 30, len(table)
    per_kind = {k: sum(1 for row in table if row[1] == k) for k in sorted(kinds)}
    print(f"\nwrite points of a second run: {len(table)} {per_kind}; all usable; "
          f"{sum(r[4] for r in table) / len(table):.2f} s each on average")
    assert_no_secrets(tmp_path, list(env.values()))


def test_every_write_point_of_reopening_a_torn_case(template: tuple[Path, Path], keyset: Keyset,
                                                     tmp_path: Path) -> None:
    """A case a kill left with a torn final line and a file it could not journal, reopened on a disk
    that fills at each of the reopen's writes (the torn tail set aside, its journal entry, the found
    file's, run_started). The state between is one of the two: refused with the way out (the torn
    line is still there: "open the case again") or usable; the next reopen with room makes it usable."""
    _, source = template
    states = []
    for n in range(1, 20):
        case = tmp_path / f"case-{n}"
        subprocess.run(["cp", "-a", str(source), str(case)], check=True)
        with open(case / JOURNAL_NAME, "ab") as fh:
            fh.write(b'{"seq":99,"event":"artifact_added","data":{"kind":"asci')  # killed mid-append
        (case / "artifacts/rtr/run001/late.txt").write_bytes(b"written, never journaled\n")
        injector = DiskFull(fail_at=n)
        with injector.installed():
            try:
                reopen(case)
            except DiskFullError as exc:
                line = exc.one_line()
                assert "disk full (no space left on device) while" in line and "then run capture again" in line
            except AssertionError:
                pass
        if injector.failed is None:
            break
        verdict = two_states(case, keyset, tmp_path / "checks")
        if verdict.state == "refused":
            assert "torn final line" in verdict.detail and "open the case again" in verdict.detail, verdict
        states.append((Path(injector.failed[0]).name, verdict.state))
        entries = reopen(case)  # room again
        assert not list(case.glob("journal.torn-after-*.bin")) or any(
            e["event"] in ("journal_recovered", "artifact_recovered") and "torn-after" in e["artifact"]["path"]
            for e in entries)
        assert unjournaled(case) == []
        assert two_states(case, keyset, tmp_path / "checks").state == "usable"
    assert {"refused", "usable"} <= {state for _, state in states}, states
    assert len(states) >= 4, states
