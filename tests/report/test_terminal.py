"""The terminal interpreter that turns device output into the text a report shows."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_kit.report.terminal import Screen, render_cast, render_text, visible


def test_colours_dropped_text_kept() -> None:
    assert render_text("\x1b[1;31mRED\x1b[0m and \x1b[38;5;82mgreen\x1b[m") == "RED and green"


def test_carriage_return_overwrites_like_a_progress_bar() -> None:
    assert render_text("Loading 10%\rLoading 100%\r\n") == "Loading 100%"
    assert render_text("long line here\rshort\r\n") == "shortline here"


def test_backspace_and_cursor_left_right() -> None:
    assert render_text("abcdef\x1b[3Dxyz") == "abcxyz"
    assert render_text("ab\bX") == "aX"
    assert render_text("a\x1b[3Cb") == "a   b"
    assert render_text("abc\x1b[1Gz") == "zbc"


def test_erase_line_and_cursor_up() -> None:
    assert render_text("first\r\nsecond\r\n\x1b[2A\x1b[2Kredrawn\r\n") == "redrawn\nsecond"
    assert render_text("keep this\x1b[5D\x1b[K") == "keep"


def test_clear_screen_keeps_history() -> None:
    # A transcript must not lose what was shown before a clear-screen.
    text = render_text("before\r\n\x1b[2J\x1b[Hafter\r\n")
    assert "before" in text and "after" in text


def test_absolute_positioning_within_the_window() -> None:
    screen = Screen(width=20, height=3)
    screen.feed("l1\r\nl2\r\nl3\r\n\x1b[1;1HX")
    assert screen.text().splitlines()[1] == "X2"  # row 1 of the last 3-line window


def test_osc_title_dcs_and_private_modes_removed() -> None:
    assert render_text("\x1b]0;pwned-title\x07ok\x1b[?2004h\x1b[?25l\x1bP1$r\x1b\\ done") == "ok done"


def test_escape_cut_between_two_reads() -> None:
    screen = Screen()
    screen.feed("abc\x1b[3")
    screen.feed("1mdef")
    assert screen.text() == "abcdef"


def test_huge_counts_are_bounded() -> None:
    text = render_text("a\x1b[999999999Cb\x1b[99999999A")
    assert len(text) < 1000 and text.endswith("b")


def test_invisible_formatting_characters_are_shown() -> None:
    assert render_text("admin\u202etxt.exe") == "admin<U+202E>txt.exe"
    assert visible("a\u200bb\x07") == "a<U+200B>b<U+0007>"


def test_cast_markers_and_times() -> None:
    rows = [json.dumps({"version": 2, "width": 80, "height": 24, "timestamp": 1700000000, "title": "t\x1b[31m"}),
            json.dumps([0.1, "m", "login"]), json.dumps([0.2, "o", "\x1b[32mhello\x1b[0m\r\n"]),
            json.dumps([0.3, "i", "secret-typed"]), json.dumps([1.5, "o", "world"]), "not json"]
    cast = render_cast("\n".join(rows).encode())
    assert [line.text for line in cast.lines] == ["hello", "world"]
    assert cast.lines[0].notes == ["login"] and cast.lines[0].time == 0.2 and cast.lines[1].time == 1.5
    assert cast.start == 1700000000 and "\x1b" not in cast.title
    assert cast.problems == ["line 6 is not an event"]


def test_not_a_cast() -> None:
    cast = render_cast(b"\x00\x01garbage")
    assert cast.problems and all("\x00" not in line.text for line in cast.lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\x1b[", "\x1b]", "\x1b", "\r", "\b", "\n", "\x1b[2J", "\x1b[K", "\x1b[5A", "\x1b[3D",
                     "\x07", "\x9b31m", "\x1b[?2004h", "\u202e", "\x00", "\x7f", "\x1bP", "\x1b\\"]),
), max_size=40))
def test_no_control_character_ever_comes_out(parts: list[str]) -> None:
    screen = Screen(width=40, height=5)
    for part in parts:
        screen.feed(part)
    text = screen.text()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]", text)
