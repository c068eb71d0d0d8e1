"""The hash-chained journal: chain checks, tamper detection, crash safety, append-only."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.journal import GENESIS, canonical_json, check_journal, entry_hash, read_entries
from evidence_kit.case.outcome import Outcome
from evidence_kit.errors import CaseError
from evidence_kit.secrets import Secret

DETAILS = CaseDetails(client="Contoso Ltd", provider="Example MSP", technician="J. Doe")
FACTS = {"host": {"hostname": "test"}, "tool": {"name": "evidence-kit"}}


def make_case(root: Path, targets: int = 2) -> Case:
    case = Case.open_for_capture(root, DETAILS, FACTS)
    for i in range(targets):
        with case.target(f"t{i}", "ssh", "linux", f"127.0.0.1:{22 + i}") as s:
            s.event("connected", {"peer": "127.0.0.1"})
            with s.artifact("out.txt", kind="transcript", media_type="text/plain") as w:
                w.write(b"hello\n" * 100)
            s.finish(Outcome.LOGIN_OK, "ok")
    return case


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_chain_verifies_and_names_every_field(tmp_path: Path) -> None:
    case = make_case(tmp_path / "c")
    case.close({"done": True})
    check = check_journal(tmp_path / "c" / "journal.jsonl")
    assert check.ok, check.describe()
    entries = list(read_entries(tmp_path / "c" / "journal.jsonl"))
    assert check.entries == len(entries) > 8
    assert entries[0]["prev"] == GENESIS and entries[0]["event"] == "case_created"
    assert entries[0]["artifact"]["path"] == "case.json"
    for prev, entry in itertools.pairwise(entries):
        assert entry["prev"] == prev["hash"]
        assert entry["seq"] == prev["seq"] + 1
        assert entry["time"].endswith("Z") and len(entry["time"]) == 27  # microseconds
    for entry in entries:
        assert entry_hash(entry) == entry["hash"]
    # artifacts named in the journal exist with the hash the journal gives
    import hashlib

    for entry in entries:
        if entry["artifact"]:
            data = (tmp_path / "c" / entry["artifact"]["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["artifact"]["sha256"]
            assert len(data) == entry["artifact"]["size"]


@pytest.mark.parametrize("tamper", ["edit", "remove", "reorder", "rehash-one"])
def test_tampering_is_located(tmp_path: Path, tamper: str) -> None:
    make_case(tmp_path / "c").close()
    path = tmp_path / "c" / "journal.jsonl"
    raw = path.read_text().splitlines()
    if tamper == "edit":
        raw[4] = raw[4].replace('"time":"2', '"time":"1', 1)
    elif tamper == "remove":
        del raw[4]
    elif tamper == "reorder":
        raw[4], raw[5] = raw[5], raw[4]
    else:  # an attacker who recomputes the edited entry's own hash still breaks the next link
        entry = json.loads(raw[4])
        entry["data"] = {"forged": True}
        entry["hash"] = entry_hash(entry)
        raw[4] = canonical_json(entry).decode()
    path.write_text("\n".join(raw) + "\n")
    check = check_journal(path)
    assert not check.ok
    assert check.first_bad_seq in (5, 6)
    assert "seq" in check.describe()
    with pytest.raises(CaseError, match="journal chain broken"):
        Case.open_for_capture(tmp_path / "c", DETAILS, FACTS)


def test_reopen_appends_new_run_and_never_overwrites(tmp_path: Path) -> None:
    root = tmp_path / "c"
    make_case(root).close()
    before = (root / "case.json").read_bytes()
    first = (root / "journal.jsonl").read_bytes()
    case = make_case(root, targets=1)
    case.close()
    assert (root / "case.json").read_bytes() == before
    assert (root / "journal.jsonl").read_bytes().startswith(first)
    entries = list(read_entries(root / "journal.jsonl"))
    assert {e["run"] for e in entries} == {1, 2}
    # the second run's artifacts live in their own folder
    assert (root / "artifacts/t0/run001/out.txt").exists() and (root / "artifacts/t0/run002/out.txt").exists()
    assert check_journal(root / "journal.jsonl").ok


def test_refuses_a_non_empty_folder_that_is_not_a_case(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("hi")
    with pytest.raises(CaseError, match="not a case folder"):
        Case.open_for_capture(tmp_path / "x", DETAILS, FACTS)


def test_authorization_is_copied_and_hashed(tmp_path: Path) -> None:
    letter = tmp_path / "authorization letter.pdf"
    letter.write_bytes(b"%PDF-1.4 signed authorization")
    details = CaseDetails(client="C", provider="P", technician="T", authorization=letter)
    case = Case.open_for_capture(tmp_path / "c", details, FACTS)
    case.close()
    info = json.loads((tmp_path / "c" / "case.json").read_text())
    copy = tmp_path / "c" / info["authorization"]["path"]
    assert copy.read_bytes() == letter.read_bytes()
    events = [e["event"] for e in read_entries(tmp_path / "c" / "journal.jsonl")]
    assert events[:3] == ["case_created", "authorization_attached", "run_started"]


def test_session_redacts_event_data_and_text_artifacts(tmp_path: Path) -> None:
    from tests.helpers import assert_no_secrets

    secret = "Sup3r-S3cret/Value+1"
    case = Case.open_for_capture(tmp_path / "c", DETAILS, FACTS)
    with case.target("t", "ssh", "linux", "h", secrets={"password": Secret(secret, "test")}) as s:
        s.event("oops", {"message": f"device said {secret}", secret: "key too"})
        with s.artifact("t.txt", kind="transcript", media_type="text/plain") as w:
            half = len(secret) // 2
            w.write(b"prefix " + secret[:half].encode())
            w.write(secret[half:].encode() + b" suffix")
        s.finish(Outcome.ERROR, f"failed with {secret}")
    case.close()
    assert_no_secrets(tmp_path / "c", [secret])
    text = (tmp_path / "c/artifacts/t/run001/t.txt").read_text()
    assert text == "prefix [REDACTED] suffix"


def test_a_crashed_driver_still_ends_with_an_outcome(tmp_path: Path) -> None:
    case = Case.open_for_capture(tmp_path / "c", DETAILS, FACTS)
    with pytest.raises(RuntimeError), case.target("t", "ssh", "linux", "h") as s:
        raise RuntimeError("driver bug")
    assert s.result is not None and s.result.outcome is Outcome.ERROR


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from evidence_kit.case.case import Case, CaseDetails
    case = Case.open_for_capture(Path(sys.argv[1]), CaseDetails("C", "P", "T"), {"host": {}})
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        case.journal.append("tick", {"i": i, "pad": "x" * (i % 5000)}, target="t")
    """
)


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_kill_9_leaves_a_valid_prefix_and_the_case_reopens(tmp_path: Path, delay: float) -> None:
    root = tmp_path / "c"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    check = check_journal(root / "journal.jsonl")
    assert check.ok, check.describe()
    assert check.entries > 3
    # capturing into it again works and keeps the chain valid (a torn tail is set aside)
    case = Case.open_for_capture(root, DETAILS, FACTS)
    case.journal.append("after_crash", {})
    case.close()
    after = check_journal(root / "journal.jsonl")
    assert after.ok and after.torn_tail_bytes == 0 and after.entries >= check.entries + 3


def test_torn_tail_is_set_aside_not_lost(tmp_path: Path) -> None:
    root = tmp_path / "c"
    make_case(root).close()
    with open(root / "journal.jsonl", "ab") as fh:
        fh.write(b'{"seq": 999, "partial')
    check = check_journal(root / "journal.jsonl")
    assert check.ok and check.torn_tail_bytes == len(b'{"seq": 999, "partial')
    case = Case.open_for_capture(root, DETAILS, FACTS)
    case.close()
    aside = list(root.glob("journal.torn-*.bin"))
    assert len(aside) == 1 and aside[0].read_bytes() == b'{"seq": 999, "partial'
    recovered = [e for e in read_entries(root / "journal.jsonl") if e["event"] == "journal_recovered"]
    assert recovered and recovered[0]["data"]["set_aside_as"] == aside[0].name


def test_one_capture_at_a_time_and_seal_waits(tmp_path: Path) -> None:
    from evidence_kit.case.case import case_lock

    root = tmp_path / "c"
    case = Case.open_for_capture(root, DETAILS, FACTS)
    with pytest.raises(CaseError, match="a capture is running"):
        Case.open_for_capture(root, DETAILS, FACTS)
    with pytest.raises(CaseError, match="a capture is running"), case_lock(root, shared=True):
        pass
    case.close()
    with case_lock(root, shared=True):  # free once the capture closed
        pass
    Case.open_for_capture(root, DETAILS, FACTS).close()
