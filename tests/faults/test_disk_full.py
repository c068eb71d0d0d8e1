"""A real disk that fills up: small tmpfs mounted by the test as (or under) the case folder, sized so
that ENOSPC hits during case creation, the journal, an artifact (a 250 KB SSH banner), the SSH
transcript (a target whose identity output is 1 MB), a screenshot and the Playwright trace.

After each: ``capture`` says so in one line (disk full, the path, the way out; exit 2), the case
is in one of the two documented states — checked by ``seal`` + ``verify`` on a copy in a folder
with room — and once there is room again a later capture into the same case works and still
seals and verifies. The kernel decides where a write stops (at a page boundary, part-way through
the data), as it does for a user.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.demo.ssh_device import DemoDevice
from evidence_kit.errors import EvidenceKitError
from tests.faults.conftest import demo_env, demo_inventory
from tests.faults.faultkit import (
    PAGE,
    Verdict,
    assert_case_consistent,
    cli_env,
    journal_events,
    needs_root,
    one_line,
    remount,
    run_capture,
    tmpfs,
    two_states,
)
from tests.helpers import assert_no_secrets
from tests.seal.helpers import Keyset
from tests.servers.sshd import InventoryTarget, SshdTargets, build_inventory

DISK_FULL = "disk full (no space left on device)"


def capture_cli(inventory: Path, case: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "evidence_kit", "capture", str(inventory), "--case", str(case), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=cli_env(**env))


def refused_line(done: subprocess.CompletedProcess[str], path: Path, doing: str) -> str:
    """Exit 2 and one line: the machine's condition, the path it refused, what was being done."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    line = one_line(done.stderr)
    assert line.startswith(f"error: {path}: {DISK_FULL} while {doing}"), line
    assert "run capture again" in line, line
    return line


def incomplete(case: Path) -> list[dict]:
    return [e for e in journal_events(case) if e["event"] == "artifact_added" and e["data"].get("complete") is False]


def pages(folder: Path) -> int:
    return sum(-(-p.stat().st_size // PAGE) for p in folder.rglob("*") if p.is_file())


# --- symptom 1, deterministic: a short write at the end of the disk ------------------------------


def test_a_short_write_on_a_full_disk_is_recorded_as_the_disk_has_it(tmp_path: Path) -> None:
    """Issue 10, first symptom, made deterministic: the run folder is a one-page tmpfs; an asciicast
    header of 972 bytes, then a 32 KB event that the kernel cuts at the page's end and then refuses.
    The journal once recorded 972 bytes for a file holding 4096, and seal refused the case forever
    after. The record must be the bytes on disk (here: marked incomplete)."""
    case_root = tmp_path / "case"
    case = Case.open_for_capture(case_root, CaseDetails("Contoso", "Example MSP", "Tester"), {})
    run_folder = case_root / "artifacts" / "rtr" / "run001"
    run_folder.mkdir(parents=True)
    with tmpfs(run_folder, "4k"):
        with case.target("rtr", "ssh", "linux", "127.0.0.1:22") as session:
            with pytest.raises((OSError, EvidenceKitError)):
                with session.artifact("session.cast", "asciicast", "application/x-asciicast") as cast:
                    cast.write(b'{"version": 2}'.ljust(971) + b"\n")
                    cast.write(b'[0.5, "o", "' + b"x" * 32768 + b'"]\n')
        try:
            case.close({})
        except (OSError, EvidenceKitError):
            pass
        (record,) = [e for e in journal_events(case_root) if e["event"] == "artifact_added"]
        assert (run_folder / "session.cast").stat().st_size == PAGE
        assert record["artifact"]["size"] == PAGE  # not the 972 bytes that had "been written"
        assert record["data"]["complete"] is False
        assert_case_consistent(case_root)
        Case.open_for_capture(case_root, CaseDetails("Contoso", "Example MSP", "Tester"), {}).close({})
        assert_case_consistent(case_root)


# --- case creation and the journal (the in-process demo device) -----------------------------------


@pytest.mark.parametrize(("where", "size", "letter"), [("journal", "4k", 100), ("authorization", "16k", 64 << 10)],
                         ids=["case.json-written-journal-refused", "authorization-letter-copy"])
def test_disk_full_at_case_creation_leaves_no_case(where: str, size: str, letter: int, tmp_path: Path,
                                                   device: DemoDevice, keyset: Keyset) -> None:
    """Issue 10, second symptom: case.json written and the journal empty; a later capture continued
    the folder without its beginning, seal accepted it and verify failed. Now: nothing is kept."""
    inventory = demo_inventory(tmp_path / "inv", device)
    (tmp_path / "inv" / "letter.txt").write_bytes(b"Contoso authorizes Example MSP.\n".ljust(letter, b"."))
    case = tmp_path / "case"
    with tmpfs(case, size):
        done = capture_cli(inventory, case, demo_env(device))
        refused_line(done, case, "creating the case")
        assert "nothing was kept" in done.stderr
        assert os.listdir(case) == []  # complete or absent: no case.json without its journal
        remount(case, "4m")  # room again: the same folder becomes a whole case
        again = capture_cli(inventory, case, demo_env(device))
        assert again.returncode == 0, again.stderr
        assert journal_events(case)[0]["event"] == "case_created"
        assert two_states(case, keyset, tmp_path / "checks").state == "usable"


def test_disk_full_in_the_journal(tmp_path: Path, device: DemoDevice, keyset: Keyset) -> None:
    """The case's own file system holds what the case has plus one page: the journal runs out of
    room mid-target, while the run's artifacts (on a roomy mount of their own) still have some."""
    inventory, env = demo_inventory(tmp_path / "inv", device), demo_env(device)
    template = tmp_path / "template"
    assert run_capture(inventory, template, env).ok
    case = tmp_path / "case"
    with tmpfs(case, f"{(pages(template) + 1) * 4}k"):
        subprocess.run(["cp", "-a", f"{template}/.", str(case)], check=True)
        run2 = case / "artifacts" / "rtr" / "run002"
        run2.mkdir(parents=True)
        with tmpfs(run2, "1m"):
            done = capture_cli(inventory, case, env)
            line = refused_line(done, case / "journal.jsonl", "appending to the journal")
            assert "the case continues from its last complete entry" in line
            assert_case_consistent(case)
            verdict = two_states(case, keyset, tmp_path / "checks")
            assert verdict.state == "usable", verdict
            remount(case, "4m")
            again = capture_cli(inventory, case, env)
            assert again.returncode == 0, again.stderr
            entries = assert_case_consistent(case)
            recovered = [e["artifact"]["path"] for e in entries if e["event"] == "artifact_recovered"]
            assert all("/run002/" in p for p in recovered)  # what the full journal could not name
            assert two_states(case, keyset, tmp_path / "checks").state == "usable"
    assert_no_secrets(tmp_path / "checks", list(env.values()))


# --- a real sshd: the banner artifact, the 1 MB transcript -----------------------------------------


@pytest.fixture
def ssh_inventory(tmp_path: Path, fault_sshd: SshdTargets) -> tuple[Path, dict[str, str]]:
    """big: a linux login whose identity output is 1 MB; banner: a login behind a 250 KB banner;
    small: a plain linux login (the capture once there is room again)."""
    linux, huge = fault_sshd.account("linux"), fault_sshd.account("banner_huge")
    path = tmp_path / "inventory.yaml"
    env = build_inventory(path, [
        InventoryTarget("big", linux, fault_sshd.port, profile="linux_megabyte"),
        InventoryTarget("banner", huge, fault_sshd.port),
        InventoryTarget("small", linux, fault_sshd.port),
    ])
    return path, env


@pytest.mark.slow
def test_disk_full_in_the_ssh_banner_and_in_the_transcript(tmp_path: Path, ssh_inventory: tuple[Path, dict[str, str]],
                                                           megabyte_profiles: Path, fault_sshd: SshdTargets,
                                                           keyset: Keyset) -> None:
    """The issue's own reproduction: a case on a tmpfs of a few hundred KB, an SSH target whose
    identity output is 1 MB. The asciicast or the transcript is cut where the disk ends (a page
    boundary, part-way through a write); the journal records exactly that, marked incomplete."""
    inventory, env = ssh_inventory
    profiles = ("--profiles", str(megabyte_profiles))
    verdicts: dict[str, Verdict] = {}
    for name, size in (("banner", "64k"), ("big", "300k")):
        case = tmp_path / f"case-{name}"
        with tmpfs(case, size):
            done = capture_cli(inventory, case, env, "--only", name, *profiles)
            assert done.returncode == 2, done.stderr
            line = one_line(done.stderr)
            artifact = "banner.txt" if name == "banner" else ("session.cast", "session.txt")
            (found,) = [a for a in ([artifact] if isinstance(artifact, str) else artifact)
                        if f"/{a}: {DISK_FULL} while writing artifact" in line]
            assert line.startswith(f"error: {case}/artifacts/{name}/run001/{found}: {DISK_FULL}"), line
            entries = assert_case_consistent(case)  # symptom 1: what is recorded is what is on disk
            cut = [e for e in incomplete(case) if e["artifact"]["path"].endswith(found)]
            on_disk = (case / f"artifacts/{name}/run001/{found}").stat().st_size
            assert not cut or cut[0]["artifact"]["size"] == on_disk  # journaled as incomplete, or found later
            finished = [e for e in entries if e["event"] == "target_finished"]
            assert finished and finished[-1]["data"]["outcome"] == "error"
            assert DISK_FULL in finished[-1]["data"]["detail"]
            verdicts[name] = two_states(case, keyset, tmp_path / "checks")
            assert verdicts[name].state == "usable", verdicts[name]
            remount(case, "16m")
            again = capture_cli(inventory, case, env, "--only", "small", *profiles)
            assert again.returncode == 0, again.stderr
            entries = assert_case_consistent(case)
            if not cut:
                assert any(e["event"] == "artifact_recovered" and e["artifact"]["path"].endswith(found)
                           for e in entries)
            assert two_states(case, keyset, tmp_path / "checks").state == "usable"
    assert_no_secrets(tmp_path, fault_sshd.secrets())


# --- a web target: the screenshot, the trace -------------------------------------------------------


@pytest.mark.slow
def test_disk_full_in_a_screenshot_and_in_the_trace(tmp_path: Path, device: DemoDevice, keyset: Keyset) -> None:
    """The web target's run folder is a tmpfs: 8 KB (the first screenshot is cut), then 256 KB (the
    screenshots fit, the 190 KB trace does not), then room for the next capture."""
    from evidence_kit.demo.web_portal import DemoPortal
    needs_root()
    inventory = demo_inventory(tmp_path / "inv", device)
    case = tmp_path / "case"
    assert run_capture(inventory, case, demo_env(device)).ok  # run 1: an SSH target, so the case exists
    with DemoPortal() as portal, contextlib.ExitStack() as mounts:  # the small run folders stay until the end
        web = tmp_path / "web.yaml"
        web.write_text(f"case: {{client: Contoso, provider: Example MSP, technician: Tester}}\ntargets:\n"
                       f"  - {{name: portal, profile: demo_portal_web, url: '{portal.url}', "
                       f"username: {portal.username}, password: env:W_PW, totp: env:W_TOTP}}\n")
        env = {"W_PW": portal.password, "W_TOTP": portal.totp_seed}
        for run, size, name in ((2, "8k", "01-login-page.png"), (3, "256k", "trace.zip")):
            folder = case / "artifacts" / "portal" / f"run{run:03d}"
            folder.mkdir(parents=True)
            mounts.enter_context(tmpfs(folder, size))
            done = capture_cli(web, case, env)
            refused_line(done, folder / name, f"writing artifact {folder.relative_to(case)}/{name}")
            assert_case_consistent(case)
            (cut,) = [e for e in incomplete(case) if e["run"] == run]
            assert cut["artifact"]["path"].endswith(name) and 0 < cut["artifact"]["size"] == (
                folder / name).stat().st_size
            later = [e for e in journal_events(case) if e["run"] == run and e["seq"] > cut["seq"]]
            assert not [e for e in later if e["event"] == "artifact_added"]  # nothing more into a full disk
            verdict = two_states(case, keyset, tmp_path / "checks")
            assert verdict.state == "usable", verdict
        assert run_capture(inventory, case, demo_env(device)).ok  # run 4, with room (an SSH target: quicker)
        assert two_states(case, keyset, tmp_path / "checks").state == "usable"
        assert_no_secrets(case, [portal.password, portal.totp_seed, *demo_env(device).values()])
    assert json.loads((case / "case.json").read_text())["case_id"]


def test_a_case_without_its_beginning_is_refused_by_capture_and_by_seal(tmp_path: Path, device: DemoDevice,
                                                                         keyset: Keyset) -> None:
    """What the second symptom left before the fix (case.json, then a journal a later capture began
    with run_started) is refused in one line with the way out — by capture and by seal, which used to
    seal it into an archive that then failed verify ("journal: case ids disagree")."""
    from evidence_kit.case.journal import GENESIS, JOURNAL_NAME, canonical_json, entry_hash
    inventory = demo_inventory(tmp_path / "inv", device)
    case = tmp_path / "case"
    assert run_capture(inventory, case, demo_env(device)).ok
    entries, prev = [], GENESIS
    for number, entry in enumerate(journal_events(case)[1:], start=1):  # the journal without case_created
        entry.update(seq=number, prev=prev)
        entry["hash"] = prev = entry_hash(entry)
        entries.append(canonical_json(entry) + b"\n")
    (case / JOURNAL_NAME).write_bytes(b"".join(entries))
    verdict = two_states(case, keyset, tmp_path / "checks")
    assert verdict.state == "refused", verdict
    copy = tmp_path / "checks" / "copy-0"  # the two-state check seals a copy
    assert verdict.detail == (f"error: {copy / JOURNAL_NAME}: the case has no beginning (its first entry is not this "
                              f"case's case_created): it was not created completely; move {copy} aside and capture "
                              "into a new folder; nothing was sealed"), verdict.detail
    done = capture_cli(inventory, case, demo_env(device))
    assert done.returncode == 2 and one_line(done.stderr).startswith(
        f"error: {case / JOURNAL_NAME}: the case has no beginning"), done.stderr
