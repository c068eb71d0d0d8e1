"""Timelines a reviewer reads: rows in words, the raw fields in Appendix E, and a PDF layout in
which nothing is printed over anything else (checked on the words' boxes, ``pdftotext -bbox``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.report import write_report
from evidence_kit.report.collect import collect
from evidence_kit.report.render import write_pdf
from evidence_kit.seal.model import Status, Verification
from tests.report.conftest import Sealed
from tests.report.pdfwords import Page, below_heading, overlapping, pdf_words

pytestmark = pytest.mark.slow

CLOCK = re.compile(r"\d\d:\d\d:\d\d\.\d{3}")


def _write(sealed: Sealed, out: Path) -> Any:
    return write_report(sealed.archive, out, identity_files=[sealed.identity], trust_key=sealed.public_key,
                        tsa_cas=[sealed.tsa_root])


@pytest.fixture(scope="module")
def reports(sealed: Sealed, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("timeline")
    _write(sealed, folder / "report.html")
    _write(sealed, folder / "report.pdf")
    return (folder / "report.html").read_text(encoding="utf-8"), folder / "report.pdf"


def _section(html: str, anchor: str) -> str:
    part = html[html.index(f'id="{anchor}"'):]
    return part[:part.index("</section>")]


def _text(fragment: str) -> str:
    import html as html_lib

    return html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


def test_timeline_rows_are_sentences(sealed: Sealed, reports: tuple[str, Path]) -> None:
    html, _ = reports
    linux = _text(_section(html, "t-linux-host"))
    assert re.search(r"connected to 127\.0\.0\.1:\d+ \(from 127\.0\.0\.1:\d+", linux)
    assert re.search(r"host key SHA256:\S+ matched the pin \(inventory host_key\)", linux)
    assert "sent the password (redacted) as" in linux and "the server accepted the login as" in linux
    assert re.search(r"ran \u201cuname -a\u201d \(identity\): \d+ lines of output", linux)
    assert "finished: logged in with the expected access (login_ok)" in linux
    portal = _text(_section(html, "t-web-portal"))
    assert "screenshot 1: login \u2014 original, as captured" in portal
    assert "screenshot 1: login \u2014 stamped copy" in portal
    assert "finished: the credential was refused (auth_failed)" in portal
    if sealed.cockpit:  # the real web driver's steps
        good = _text(_section(html, "t-cockpit-good"))
        assert re.search(r"step \d+: typed the password \(redacted\) into #login-password-input", good)
        assert re.search(r"step \d+: typed the user name into #login-user-input", good)
        assert re.search(r"step \d+: clicked #login-button", good)
    # the rows no longer print "key: value" dumps; those are the raw fields of Appendix E
    timeline = _section(html, "t-linux-host")
    timeline = timeline[timeline.index("<h4>Timeline</h4>"):]
    assert "peer: 127.0.0.1" not in timeline and "result: match" not in timeline


def test_raw_fields_stay_in_appendix_e(sealed: Sealed, reports: tuple[str, Path]) -> None:
    html, _ = reports
    appendix = _section(html, "appendix-e")
    entries = (sealed.case_root / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    assert appendix.count('<tr id="j-') == len(entries)
    text = _text(appendix)
    check = next(e for e in map(json.loads, entries)
                 if e["event"] == "host_key_check" and e["data"]["result"] == "match")  # linux-host is pinned
    for key in ("result", "expected", "presented", "source"):
        assert f"{key} {check['data'][key]}" in text, key
    # every timeline row links to its raw entry
    links = set(re.findall(r'<td class="seq"><a href="#(j-\d+)">', html))
    ids = set(re.findall(r'<tr id="(j-\d+)"', appendix))
    assert links and links <= ids
    # the full time is kept there (the timeline shows milliseconds)
    assert json.loads(entries[0])["time"] in text.replace("T ", "T")


def _time_column_ok(page: Page) -> list[str]:
    """Under each "What happened" heading, every word of the columns left of it ends before it."""
    problems = []
    for head, rows in below_heading(page, "What", "happened"):
        for w in rows:
            if w.x0 < head.x0 - 2 and w.x1 > head.x0 - 2:
                problems.append(f"{w.text!r} ends at {w.x1:.1f}; the What happened column starts at {head.x0:.1f}")
    return problems


def test_pdf_timeline_time_and_event_do_not_overlap(reports: tuple[str, Path]) -> None:
    _, pdf = reports
    pages = pdf_words(pdf)
    for number, page in enumerate(pages, start=1):
        assert overlapping(page.words) == [], f"page {number}: words printed over each other"
    timelines = [(head, rows) for page in pages for head, rows in below_heading(page, "What", "happened")]
    assert len(timelines) >= 5
    for page in pages:
        assert _time_column_ok(page) == []
    for head, rows in timelines:
        # each row's time (left of the heading) ends before its event name (right of it) starts
        clocks = [w for w in rows if CLOCK.fullmatch(w.text)]
        events = [w for w in rows if re.fullmatch(r"[a-z]+(_[a-z]+)+", w.text)]
        assert clocks and events
        assert all(c.x1 < head.x0 for c in clocks) and all(e.x0 >= head.x0 - 1 for e in events)
        for c in clocks:
            same_row = [e for e in events if abs(e.y0 - c.y0) < 30]
            assert all(c.x1 < e.x0 for e in same_row), (c, same_row)


def _entry(seq: object, time: str, event: str, target: str | None, data: dict[str, Any],
           artifact: dict[str, Any] | None = None) -> str:
    return json.dumps({"seq": seq, "time": time, "mono": 0, "run": 1, "target": target, "event": event, "data": data,
                       "artifact": artifact, "prev": "0" * 64, "hash": "0" * 64}, sort_keys=True)


def test_pdf_layout_survives_odd_journal_values(tmp_path: Path) -> None:
    """A journal that failed verification: huge entry numbers, times in odd forms, long event and
    target names without spaces. Each is wrapped inside its own cell, never printed over the next."""
    bag = tmp_path / "x" / "case-1"
    data = bag / "data"
    data.mkdir(parents=True)
    (data / "case.json").write_text(json.dumps({"case_id": "case-1", "client": "C", "provider": "P"}))
    target = "a-target-with-a-very-long-name-" + "x" * 60
    lines = [
        _entry(1, "2026-11-25T08:57:09.711972Z", "target_started", target, {"kind": "ssh", "address": "h:22"}),
        _entry(123456789012, "2026-11-25T08:57:09.711972123456789+05:30", "connected", target,
               {"peer": "127.0.0.1:22"}),
        _entry(3, "Tuesday, the twenty-fifth of November 2026, at nine in the morning", "an_event_name_that_is_"
               "far_too_long_for_any_column_of_any_table_at_all", target, {"k" * 80: "v" * 300}),
        _entry(4, "20261125085709711972", "x" * 90, target, {}),
        _entry(5, "2026-11-25T08:57:10Z", "target_finished", target, {"outcome": "login_ok", "detail": "y" * 200}),
    ]
    (data / "journal.jsonl").write_text("\n".join(lines) + "\n")
    checked = Verification(archive="x.age", extracted_to=str(bag), case_id="case-1")
    checked.add("journal", Status.FAILED, "hashes do not chain")
    report = collect(checked, tmp_path / "x.age", "ab" * 32, 10)
    pdf = tmp_path / "odd.pdf"
    work = tmp_path / "work"
    work.mkdir()
    write_pdf(report, pdf, work)
    pages = pdf_words(pdf)
    assert any(below_heading(page, "What", "happened") for page in pages)
    for number, page in enumerate(pages, start=1):
        assert overlapping(page.words) == [], f"page {number}: words printed over each other"
        assert _time_column_ok(page) == []
