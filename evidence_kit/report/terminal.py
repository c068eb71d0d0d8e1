"""Terminal output as readable text: escape sequences interpreted or removed, never passed on.

A report shows what the technician's terminal showed. Device output carries colours, cursor
movement, erase-line, carriage returns and backspaces (progress bars, pagers, line editors);
copying the bytes into a page would show garbage at best and, at worst, let a device inject
terminal sequences into whatever later displays the text. :class:`Screen` is a small,
log-shaped terminal: it keeps every line ever written (a transcript must not lose history
to a clear-screen), applies cursor motion within a window of ``height`` lines, overwrites
in place like a terminal does, and drops every sequence it does not interpret. Invisible
Unicode formatting characters (bidi overrides, zero-width joiners) are shown as ``<U+202E>``
so the text cannot be made to read differently from what it holds.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

# One token: CSI, OSC (BEL or ST terminated, or cut off), other ESC sequences, a single control
# character, or a run of printable text.
_TOKEN = re.compile(
    r"\x1b\[(?P<csi_p>[0-?]*)(?P<csi_i>[ -/]*)(?P<csi_f>[@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\|$)"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]"
    r"|\x1b"
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|(?P<ctl>[\x00-\x1f\x7f-\x9f])"
    r"|(?P<text>[^\x00-\x1f\x7f-\x9f]+)"
)
_PARTIAL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*)?$")
MAX_COUNT = 500  # a hostile "ESC[999999999C" must not make a gigabyte line
MAX_LINE = 4000
TAB = 8


def visible(text: str) -> str:
    """Replace invisible format characters (Unicode Cf, e.g. U+202E) and stray controls."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cf" or (cat == "Cc" and ch not in "\n\t"):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class Line:
    text: str
    time: float | None = None  # when the line was first written (seconds, caller's clock)
    notes: list[str] = field(default_factory=list)  # markers recorded before this line


class Screen:
    """A log-shaped terminal: feed it output, read back the lines as a person saw them."""

    def __init__(self, width: int = 200, height: int = 50) -> None:
        self.width = max(20, min(int(width or 200), MAX_LINE))
        self.height = max(1, min(int(height or 50), 1000))
        self.rows: list[list[str]] = [[]]
        self.times: list[float | None] = [None]
        self.notes: dict[int, list[str]] = {}
        self.row = 0
        self.col = 0
        self.now: float | None = None
        self.base = 0  # first row of the current screen (moves down on a clear-screen)
        self._pending = ""

    # -- feeding --------------------------------------------------------------------------------

    def feed(self, data: str, at: float | None = None) -> None:
        self.now = at
        data = self._pending + data
        # An escape sequence cut between two reads is completed by the next one.
        cut = _PARTIAL.search(data)
        self._pending = data[cut.start():] if cut and len(data) - cut.start() < 64 else ""
        if self._pending:
            data = data[:cut.start()] if cut else data
        for m in _TOKEN.finditer(data):
            if m.group("text") is not None:
                self._put(m.group("text"))
            elif m.group("ctl") is not None:
                self._control(m.group("ctl"))
            elif m.group("csi_f") is not None:
                self._csi(m.group("csi_p"), m.group("csi_i"), m.group("csi_f"))
            # every other escape sequence is dropped

    def note(self, text: str) -> None:
        """A marker (asciicast "m" event) shown before the line the cursor is on."""
        self.notes.setdefault(self.row, []).append(text)

    def _top(self) -> int:
        return max(self.base, len(self.rows) - self.height)

    def _goto_row(self, row: int) -> None:
        row = max(self._top(), row)
        while len(self.rows) <= row:
            self.rows.append([])
            self.times.append(None)
        self.row = row

    def _put(self, text: str) -> None:
        line = self.rows[self.row]
        for ch in text:
            if unicodedata.category(ch) == "Cf":
                ch = f"<U+{ord(ch):04X}>"
            if self.col >= MAX_LINE:
                break
            if self.col > len(line):
                line.extend(" " * (self.col - len(line)))
            if self.col == len(line):
                line.append(ch)
            else:
                line[self.col] = ch
            self.col += 1
        if self.times[self.row] is None:
            self.times[self.row] = self.now

    def _control(self, ch: str) -> None:
        if ch == "\n" or ch in "\x0b\x0c":
            # Device output is read as a log: a line feed starts the next line at column 0
            # (what ONLCR terminals show), whatever the device's own CR habits.
            self._goto_row(self.row + 1)
            self.col = 0
        elif ch == "\r":
            self.col = 0
        elif ch == "\b":
            self.col = max(0, self.col - 1)
        elif ch == "\t":
            self.col = min(MAX_LINE, (self.col // TAB + 1) * TAB)
        # BEL, NUL, SO/SI, C1 controls...: nothing to show

    def _csi(self, params: str, inter: str, final: str) -> None:
        if params.startswith(("?", ">", "<", "=")) or inter:
            return  # private modes (bracketed paste, cursor visibility...): no effect on text
        nums = []
        for part in params.split(";"):
            try:
                nums.append(min(int(part), MAX_COUNT * 10) if part else 0)
            except ValueError:
                nums.append(0)

        def n(i: int = 0, default: int = 1) -> int:
            v = nums[i] if i < len(nums) else 0
            return min(v or default, MAX_COUNT)

        if final == "A":
            self._goto_row(self.row - n())
        elif final in "BE":
            self._goto_row(min(self.row + n(), len(self.rows) - 1 + MAX_COUNT))
            if final == "E":
                self.col = 0
        elif final == "F":
            self._goto_row(self.row - n())
            self.col = 0
        elif final == "C":
            self.col = min(MAX_LINE, self.col + n())
        elif final == "D":
            self.col = max(0, self.col - n())
        elif final in "G`":
            self.col = min(MAX_LINE, n() - 1)
        elif final in "Hf":
            row = (nums[0] if nums else 0) or 1
            col = (nums[1] if len(nums) > 1 else 0) or 1
            self._goto_row(self._top() + min(row, self.height) - 1)
            self.col = min(MAX_LINE, col - 1)
        elif final == "d":
            self._goto_row(self._top() + min(n(), self.height) - 1)
        elif final == "K":
            line = self.rows[self.row]
            mode = nums[0] if nums else 0
            if mode == 0:
                del line[self.col:]
            elif mode == 1:
                for i in range(min(self.col + 1, len(line))):
                    line[i] = " "
            else:
                line.clear()
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 0:
                del self.rows[self.row][self.col:]
                # Lines below the cursor stay: a transcript does not unprint what was shown.
            elif mode in (2, 3):
                # A cleared screen starts a new page; what was on the old one stays in the log.
                if any(self.rows[self.row]) or self.row != len(self.rows) - 1:
                    self._goto_row(len(self.rows))
                self.base = self.row
                self.col = 0
        elif final == "P":  # delete characters
            del self.rows[self.row][self.col:self.col + n()]
        elif final == "@":  # insert blanks
            line = self.rows[self.row]
            if self.col <= len(line):
                line[self.col:self.col] = [" "] * n()
        elif final == "X":  # erase characters
            line = self.rows[self.row]
            for i in range(self.col, min(self.col + n(), len(line))):
                line[i] = " "
        # m (colour), h/l (modes), r (scroll region), s/u, n... do not change the text

    # -- reading --------------------------------------------------------------------------------

    def lines(self) -> list[Line]:
        out = []
        last = len(self.rows)
        while last > 0 and not self.rows[last - 1] and (last - 1) not in self.notes:
            last -= 1
        for i in range(last):
            text = "".join(self.rows[i]).rstrip()
            out.append(Line(text, self.times[i], list(self.notes.get(i, []))))
        return out

    def text(self) -> str:
        return "\n".join(line.text for line in self.lines())


def render_text(data: str, width: int = 200, height: int = 50) -> str:
    """Interpret ``data`` as terminal output and return the plain text it shows."""
    screen = Screen(width, height)
    screen.feed(data)
    return screen.text()


@dataclass
class Cast:
    """An asciicast v2 recording interpreted into lines (times are seconds from its start)."""

    title: str
    start: int | None
    width: int
    height: int
    lines: list[Line]
    problems: list[str]


def render_cast(raw: bytes, max_events: int = 1_000_000) -> Cast:
    """Interpret an asciicast v2 file: output events drawn on a :class:`Screen`, markers kept."""
    problems: list[str] = []
    text = raw.decode("utf-8", "replace")
    rows = text.splitlines()
    header: dict[str, object] = {}
    if rows:
        try:
            parsed = json.loads(rows[0])
            header = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            problems.append("header line is not JSON")
    if header.get("version") != 2:
        problems.append("not an asciicast v2 header")

    def as_int(value: object, default: int) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    screen = Screen(as_int(header.get("width"), 200), as_int(header.get("height"), 50))
    bad = 0
    for number, row in enumerate(rows[1:max_events + 1], start=2):
        try:
            event = json.loads(row)
            t, code, data = float(event[0]), str(event[1]), str(event[2])
        except (ValueError, TypeError, IndexError, KeyError):
            bad += 1
            if bad == 1:
                problems.append(f"line {number} is not an event")
            continue
        if code == "o":
            screen.feed(data, t)
        elif code == "m":
            screen.note(visible(data))
        # "i" (keys typed) is echoed by the device when it is meant to be seen; "r" resizes
    if bad > 1:
        problems.append(f"{bad} lines were not events")
    start = header.get("timestamp")
    return Cast(
        title=visible(str(header.get("title") or "")), start=start if isinstance(start, int) else None,
        width=screen.width, height=screen.height, lines=screen.lines(), problems=problems,
    )
