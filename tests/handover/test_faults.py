"""A handover stopped half-way leaves nothing; hostile inventory text stays text in the letter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from evidence_kit.case.journal import check_journal, read_entries
from tests.handover.conftest import Handed, World


def test_sigterm_mid_handover_leaves_no_folder_and_no_entry(mine: World, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = (mine.case / "journal.jsonl").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "evidence_kit", *mine.handover_args(mine.case, out, "--no-pdf")],
                            env={**os.environ, **mine.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the handover ended before its folder was being built"
    time.sleep(0.3)  # well inside: sealing, or the KDBX
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "interrupted" in err
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))
    assert (mine.case / "journal.jsonl").read_bytes() == before and check_journal(mine.case / "journal.jsonl").ok


def test_a_target_never_tested_is_named(mine: World, tmp_path: Path) -> None:
    from tests.seal.helpers import run_cli

    text = mine.inventory.read_text()
    mine.inventory.write_text(text + "  - {name: added-later, profile: cisco_ios, host: 127.0.0.1, port: 1, "
                                     "username: x, password: env:EKH_PW}\n")
    args = mine.handover_args(mine.case, tmp_path / "out", "--no-pdf", "--inventory", mine.inventory,
                              "--allow-changed-inventory")
    refused = run_cli(args, env=mine.env)
    assert refused.exit_code == 2 and "target 'added-later' password: never tested" in refused.stderr
    assert run_cli([*args, "--only", "core-router", "--only", "old-switch"], env=mine.env).exit_code == 0


def test_hostile_inventory_text_is_escaped_in_the_letter(handed: Handed) -> None:
    from evidence_kit.handover.letter import render_html

    body = json.loads((handed.out / "transmittal.json").read_text())
    body["items"][0]["username"] = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    body["case"]["client"] = "Contoso <b>Ltd</b>"
    html = render_html(body)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Ltd</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "default-src 'none'" in html  # the report's CSP: nothing in it can run or fetch


def test_journal_entries_after_handover_keep_the_case_usable(handed: Handed, tmp_path: Path) -> None:
    """The case journal with handover entries still verifies and a later capture run numbers on."""
    import shutil

    from evidence_kit.case.case import Case, CaseDetails

    case = tmp_path / "case"
    shutil.copytree(handed.world.case, case)
    entries = list(read_entries(case / "journal.jsonl"))
    runs = [e["run"] for e in entries if e["event"] == "run_started"]
    handover = [e for e in entries if e["event"] == "handover"]
    assert handover and handover[0]["run"] == max(runs)
    again = Case.open_for_capture(case, CaseDetails("Contoso Ltd", "Example MSP", "J. Doe"), {"host": {}})
    try:
        assert again.journal.run == max(runs) + 1
    finally:
        again.close({})
    assert check_journal(case / "journal.jsonl").ok


def test_a_key_file_login_is_left_out_with_a_warning(mine: World, tmp_path: Path) -> None:
    from tests.seal.helpers import run_cli

    mine.inventory.write_text(mine.inventory.read_text() + "  - {name: by-key, profile: linux, host: 127.0.0.1, "
                                                           "username: ops, key_file: id_ed25519}\n")
    out = tmp_path / "out"
    done = run_cli(mine.handover_args(mine.case, out, "--no-pdf", "--inventory", mine.inventory,
                                      "--allow-changed-inventory"), env=mine.env)
    assert done.exit_code == 0, done.output
    assert "not in the package (a key file is handed over separately): by-key" in done.stderr
    items = [i["target"] for i in json.loads((out / "transmittal.json").read_text())["items"]]
    assert items == ["core-router", "old-switch"]
