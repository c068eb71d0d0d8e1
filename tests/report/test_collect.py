"""The data layer on an extracted archive whose journal lies (a failed verification still shows
its content): it must never read outside the case folder, nor stop on a malformed entry."""

from __future__ import annotations

import json
from pathlib import Path

from evidence_kit.report.collect import collect
from evidence_kit.report.files import inside
from evidence_kit.report.render import write_html
from evidence_kit.seal.model import Status, Verification


def _entry(seq: object, event: str, target: str | None, data: dict, artifact: dict | None = None) -> str:
    return json.dumps({"seq": seq, "time": f"2026-11-25T10:00:{int(seq) if str(seq).isdigit() else 0:02d}.000000Z",
                       "mono": 0, "run": 1, "target": target, "event": event, "data": data, "artifact": artifact,
                       "prev": "0" * 64, "hash": "0" * 64}, sort_keys=True)


def test_lying_journal_reads_nothing_outside_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("TOP-SECRET-OUTSIDE\n")
    bag = tmp_path / "x" / "case-1"
    data = bag / "data"
    (data / "artifacts").mkdir(parents=True)
    (data / "artifacts" / "ok.txt").write_text("inside banner\n")
    (data / "case.json").write_text(json.dumps({
        "format": "evidence-kit-case/1", "case_id": "case-1", "client": "C", "provider": "P", "technician": "T",
        "authorization": {"original_name": "a.pdf", "path": "../../../outside.txt", "sha256": "0" * 64, "size": 1},
    }))
    lines = [
        _entry(1, "target_started", "t1", {"kind": "ssh", "profile": "linux", "address": "h:22"}),
        _entry(2, "artifact_added", "t1", {"kind": "banner"}, {"path": "../../../outside.txt", "sha256": "0" * 64,
                                                               "size": 1}),
        _entry(3, "artifact_added", "t1", {"kind": "asciicast"}, {"path": "/etc/passwd", "sha256": "0" * 64,
                                                                  "size": 1}),
        _entry("not-a-number", "command", "t1", {}),
        "this is not json",
        _entry(6, "artifact_added", "t1", {"kind": "banner"}, {"path": "artifacts/ok.txt", "sha256": "0" * 64,
                                                               "size": 1}),
        _entry(7, "target_finished", "t1", {"outcome": "login_ok", "detail": "fine", "identity": {"account": "a"}}),
    ]
    (data / "journal.jsonl").write_text("\n".join(lines) + "\n")
    report = Verification(archive="x.age", extracted_to=str(bag), case_id="case-1")
    report.add("journal", Status.FAILED, "entry 2 names ../../../outside.txt, which is missing")
    result = collect(report, tmp_path / "x.age", "ab" * 32, 10)
    out = tmp_path / "r.html"
    write_html(result, out)
    html = out.read_text(encoding="utf-8")
    assert "TOP-SECRET-OUTSIDE" not in html and "root:x:0:0" not in html
    assert "inside banner" in html  # the entries after the bad ones are still shown
    assert "not in the case folder" in html and "VERIFICATION FAILED" in html
    assert any("journal entry 4" in p for p in result.problems)
    assert any("journal line 5 is not a JSON object" in p for p in result.problems)
    assert result.targets[0].outcome == "login_ok"


def test_inside(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    (tmp_path / "g").write_text("y")
    (tmp_path / "a" / "link").symlink_to(tmp_path / "g")
    assert inside(tmp_path / "a", "f") == tmp_path / "a" / "f"
    for bad in ("../g", "/etc/passwd", "link", "", "missing", "f\x00"):
        assert inside(tmp_path / "a", bad) is None, bad
