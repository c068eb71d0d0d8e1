"""The inventory text: references, never values; a summary on top; drafts commented out below.

Written by hand rather than by ``yaml.safe_dump`` because comments are half of it: the summary
a technician reads first, and every entry left for review as a commented-out target with the
reason above it, ready to uncomment. Each scalar goes through ``yaml.safe_dump`` (so a title
with quotes, colons or ``#`` stays data), and comment text is flattened to one printable line
(a newline in a title must not end the comment and turn the rest into YAML).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import yaml

from evidence_kit import __version__
from evidence_kit.importers.mapping import Decision

# What YAML reads as printable and not as a line break (PyYAML also breaks lines at NEL, LS, PS);
# anything else is escaped in a quoted scalar and blanked in a comment.
_UNPRINTABLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")


# A string written plain (unquoted) only when it is certainly read back as that same string:
# safe characters, no ": " or " #", and not a word YAML would type (true, null, 1e3, 2025-01-01).
_PLAIN = re.compile(r"[A-Za-z0-9_./~(][A-Za-z0-9_./~()+=@:,' -]*[A-Za-z0-9_./~()+=@)'-]|[A-Za-z0-9_./~]")
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
_NEEDS_ESCAPE = re.compile(r'["\\]|' + _UNPRINTABLE.pattern)
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def scalar(value: Any) -> str:
    """One YAML scalar. ``yaml.safe_dump`` per value cost 60 us, most of a 10,000-entry import;
    this writes the same data (a hypothesis test reads every form back) in about 1 us."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if (_PLAIN.fullmatch(text) and ": " not in text and " #" not in text and not text.endswith(":")
            and "  " not in text and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR):
        return text
    if not _NEEDS_ESCAPE.search(text):
        return f'"{text}"'
    return '"' + "".join(_quoted(ch) for ch in text) + '"'


def _quoted(ch: str) -> str:
    """A character inside a YAML double-quoted scalar: printable as is, the rest escaped."""
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if not _UNPRINTABLE.match(ch):
        return ch
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def comment(text: str, limit: int = 240) -> str:
    flat = " ".join(_UNPRINTABLE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def block(mapping: dict[str, Any], indent: str, first: str = "") -> list[str]:
    """A mapping as YAML block lines; ``first`` prefixes the first line (``- `` for a list item)."""
    lines: list[str] = []
    for i, (key, value) in enumerate(mapping.items()):
        lead = (indent + first) if i == 0 else indent + " " * len(first)
        if isinstance(value, dict):
            lines.append(f"{lead}{scalar(key)}:")
            lines += block(value, indent + " " * len(first) + "  ")
        else:
            lines.append(f"{lead}{scalar(key)}: {scalar(value)}")
    return lines


def summary_lines(mapped: Counter[str], review: Counter[str]) -> list[str]:
    out = []
    for profile, count in sorted(mapped.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"  mapped to {profile}: {count}")
    for reason, count in sorted(review.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"  for review, {comment(reason, 160)}: {count}")
    return out


def render(*, source_label: str, source_file: str, case: dict[str, Any], decisions: Iterable[Decision],
           other_clients: int, client_note: str) -> str:
    decided = list(decisions)
    mapped = [d for d in decided if d.mapped]
    review = [d for d in decided if not d.mapped]
    counts_m = Counter(d.profile for d in mapped)
    counts_r = Counter(_reason_key(d.reason) for d in review)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = [
        f"# Inventory imported by evidence-kit {__version__} at {when}",
        f"# from {comment(source_file)} ({source_label}){client_note}.",
        "# Secrets are references into that source (SCHEME:ID/FIELD, see docs/import.md), never values.",
        f"# {len(decided)} entries: {len(mapped)} mapped, {len(review)} left for review (commented out "
        "at the end, each with its reason)" + (f"; {other_clients} of other clients not imported." if other_clients
                                              else "."),
    ]
    head += ["#" + line[1:] for line in summary_lines(counts_m, counts_r)]
    lines = [*head, "", "case:"]
    lines += block(case, "  ")
    if mapped:
        lines.append("targets:")
        for d in mapped:
            lines += block(d.target, "  ", "- ")
    else:
        lines.append("targets: []  # no entry mapped: uncomment and complete one below")
    if review:
        lines += ["", f"# --- left for review ({len(review)}): uncomment under targets:, choose or check the "
                      "profile, fill what is missing ---"]
        for d in review:
            origin = f"{d.entry.position}, id {d.entry.id}"
            lines.append("#")
            lines.append(f"# {comment(d.entry.title or '(no title)', 80)} ({comment(origin, 80)}): "
                         f"{comment(d.reason)}")
            lines += ["# " + line for line in block(d.target, "  ", "- ")]
    return "\n".join(lines) + "\n"


def _reason_key(reason: str) -> str:
    """Reasons grouped for the summary: 'no rule matches (title ...)' counts as 'no rule matches'."""
    return reason.split(" (", 1)[0]
