"""Terminal session recording (asciicast v2 + timestamped text) and the expect loop.

Every byte from the device passes a :class:`~evidence_kit.redact.StreamRedactor` before it
is decoded or written: a secret echoed back, or split across two reads, never reaches disk.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from evidence_kit.case.journal import utc_now
from evidence_kit.redact import PLACEHOLDER, Redactor

# CSI, OSC, and two-byte escapes; what a plain-text transcript must not carry.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Terminal output as plain text: escapes removed, CR/LF normalised, backspaces applied."""
    text = ANSI.sub("", text).replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        # A bare CR returns to column 0: keep what was drawn last, as a terminal would show it.
        if "\r" in line:
            line = line.split("\r")[-1] or line.replace("\r", "")
        if "\b" in line:
            drawn: list[str] = []
            for ch in line:
                if ch == "\b":
                    if drawn:
                        drawn.pop()
                else:
                    drawn.append(ch)
            line = "".join(drawn)
        lines.append(CONTROL.sub("", line))
    return "\n".join(lines)


class Writer(Protocol):
    def write(self, data: bytes) -> int: ...


class TerminalRecorder:
    """Writes an asciicast v2 file and a text transcript with a UTC time on every line."""

    def __init__(
        self, cast: Writer, text: Writer, redactor: Redactor, width: int, height: int, title: str
    ) -> None:
        self._cast = cast
        self._text = text
        self._stream = redactor.stream()
        self._redactor = redactor
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._t0 = time.monotonic()
        self._line = ""
        self._line_time: str | None = None
        header = {
            "version": 2, "width": width, "height": height, "timestamp": int(time.time()),
            "title": title, "env": {"TERM": "vt100", "SHELL": "ssh"},
        }
        self._cast.write(json.dumps(header).encode() + b"\n")
        self._text.write(f"# {title}\n# times are UTC; '<' device output, '>' sent, '#' marker\n".encode())

    def _t(self) -> float:
        return round(time.monotonic() - self._t0, 6)

    def _event(self, code: str, data: str) -> None:
        self._cast.write(json.dumps([self._t(), code, data], ensure_ascii=False).encode("utf-8") + b"\n")

    def output(self, data: bytes) -> None:
        """Record device output (redacted; the redactor may hold back a possible partial secret)."""
        self._emit(self._stream.feed(data))

    def _emit(self, safe: bytes) -> str:
        text = self._decoder.decode(safe)
        if text:
            self._event("o", text)
            self._text_out(text)
        return text

    def _text_out(self, text: str) -> None:
        for piece in re.split(r"(\n)", text):
            if piece == "\n":
                self._write_line("<", self._line)
                self._line, self._line_time = "", None
            elif piece:
                if self._line_time is None:
                    self._line_time = utc_now()
                self._line += piece

    def _write_line(self, tag: str, raw: str, when: str | None = None) -> None:
        stamp = when or self._line_time or utc_now()
        line = clean_text(raw)
        self._text.write(f"{stamp} {tag} {line}\n".encode())

    def sent(self, data: str, secret: bool = False) -> None:
        """Record what we sent; a secret is recorded as [REDACTED], never its value."""
        shown = PLACEHOLDER.decode() + ("\n" if data.endswith(("\n", "\r")) else "") if secret else data
        shown = self._redactor.redact_text(shown)
        self._event("i", shown)
        self._flush_line()
        self._write_line(">", shown.rstrip("\r\n").replace("\r", "\\r").replace("\n", "\\n"), utc_now())

    def marker(self, label: str) -> None:
        self._event("m", label)
        self._flush_line()
        self._write_line("#", label, utc_now())

    def _flush_line(self) -> None:
        if self._line:
            self._write_line("<", self._line)
            self._line, self._line_time = "", None

    def close(self) -> str:
        tail = self._emit(self._stream.flush()) + self._emit_final()
        self._flush_line()
        return tail

    def _emit_final(self) -> str:
        rest = self._decoder.decode(b"", final=True)
        if rest:
            self._event("o", rest)
            self._text_out(rest)
        return rest


class Channel(Protocol):
    def recv_ready(self) -> bool: ...
    def recv(self, n: int) -> bytes: ...
    def send(self, data: bytes) -> int: ...
    def exit_status_ready(self) -> bool: ...
    def settimeout(self, t: float | None) -> None: ...
    closed: bool


POLL = 0.05  # longest single wait for device output; the deadline is checked between waits


class ExpectTimeout(Exception):
    def __init__(self, waiting_for: str, seconds: float, tail: str) -> None:
        super().__init__(f"no {waiting_for} within {seconds:g} s")
        self.waiting_for = waiting_for
        self.tail = tail


class ChannelClosed(Exception):
    pass


@dataclass
class Match:
    name: str
    match: re.Match[str]
    buffer: str


class Expect:
    """Reads a shell channel into a buffer until one of several patterns matches its last line."""

    def __init__(self, channel: Channel, recorder: TerminalRecorder, line_ending: str = "\n") -> None:
        self.channel = channel
        self.recorder = recorder
        self.line_ending = line_ending
        # The expect buffer holds the raw text in memory only (prompt detection cannot wait for
        # the redactor's hold-back); everything that reaches disk goes through the recorder.
        self.buffer = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def send_line(self, text: str, secret: bool = False) -> None:
        self.send(text + self.line_ending, secret=secret)

    def send(self, data: str, secret: bool = False) -> None:
        self.recorder.sent(data, secret=secret)
        try:
            self.channel.send(data.encode("utf-8"))
        except (OSError, EOFError) as exc:
            raise ChannelClosed(str(exc) or "the connection closed")

    def _read(self, wait: float) -> bool:
        """Read what is there, waiting up to ``wait`` seconds; False when nothing came."""
        self.channel.settimeout(wait)
        try:
            data = self.channel.recv(65536)
        except TimeoutError:
            return False
        except (OSError, EOFError) as exc:  # socket.timeout is TimeoutError on 3.10+
            raise ChannelClosed(str(exc) or "the connection closed")
        if not data:
            raise ChannelClosed("the device closed the session")
        self.recorder.output(data)
        self.buffer += self._decoder.decode(data)
        return True

    def expect(
        self,
        patterns: dict[str, re.Pattern[str]],
        timeout: float,
        waiting_for: str,
        on_pager: Callable[[], None] | None = None,
        pager: re.Pattern[str] | None = None,
        settle: float = 0.03,
    ) -> Match:
        """Wait until a pattern matches the last line of the (escape-stripped) buffer.

        A match must survive ``settle`` seconds of silence: a prompt-like line in the middle of
        output that is still arriving is not a prompt.
        """
        deadline = time.monotonic() + timeout
        while True:
            last = last_line(self.buffer)
            if pager is not None and on_pager is not None and last and pager.search(last):
                self.buffer = self.buffer[: len(self.buffer) - len(last)]
                on_pager()
                deadline = time.monotonic() + timeout
                continue
            found = self._match(patterns, last) if self.buffer else None
            if found is not None:
                if not self._read(settle):
                    return Match(found[0], found[1], self.buffer)
                continue
            if time.monotonic() > deadline:
                raise ExpectTimeout(waiting_for, timeout, last_line(self.buffer)[-200:])
            self._read(min(POLL, max(0.0, deadline - time.monotonic()) + 0.001))

    @staticmethod
    def _match(patterns: dict[str, re.Pattern[str]], last: str) -> tuple[str, re.Match[str]] | None:
        for name, pattern in patterns.items():
            m = pattern.search(last)
            if m:
                return name, m
        return None

    def take(self) -> str:
        """Return and clear the buffer (the output of the last command)."""
        out, self.buffer = self.buffer, ""
        return out


def last_line(buffer: str) -> str:
    text = ANSI.sub("", buffer[-4096:]).replace("\r\n", "\n")
    line = text.rsplit("\n", 1)[-1]
    if "\r" in line:
        line = line.rsplit("\r", 1)[-1] or line
    return CONTROL.sub("", line)


def summarize(value: Any, limit: int = 2000) -> str:
    """A bounded, printable preview of device-provided text for journal entries."""
    text = value if isinstance(value, str) else str(value)
    if ANSI.search(text) or CONTROL.search(text):
        # Escapes shown as text (\x1b[31m), never passed on to whoever reads the journal.
        text = text.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"
