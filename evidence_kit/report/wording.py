"""How values from the journal read as text in the report: shortened, flattened, visible.

Every value here came from a device, a page or a file: it is plain text (terminal escapes and
invisible format characters made visible by :func:`~evidence_kit.report.terminal.visible`),
never markup; the templates escape it.
"""

from __future__ import annotations

import json
from typing import Any

from evidence_kit.report.terminal import visible

MAX_SUMMARY = 600


def short(value: Any, limit: int = 200) -> str:
    """``value`` as one visible line of at most ``limit`` characters (JSON for non-strings)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    text = visible(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(data: Any) -> str:
    """One event's data as ``key: value`` text, shortened for the timeline."""
    if not isinstance(data, dict):
        return short(data, MAX_SUMMARY)
    parts = [f"{k}: {short(v)}" for k, v in data.items() if v not in (None, "", [], {})]
    return short("; ".join(parts), MAX_SUMMARY)


def flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    """Nested dicts as ``a.b.c``/value rows (empty values left out), appended to ``out``."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif value not in (None, "", [], {}):
        out.append((visible(prefix), short(value, 400)))


class Facts:
    """An entry's data, read defensively: every value comes back as short visible text."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> str:
        value = self.data.get(key)
        if value in (None, "", [], {}):
            return ""
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            return short(", ".join(str(v) for v in value), 160)  # a list of names reads as one
        return short(value, 160)

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def words(self, key: str) -> str:
        """A label such as ``after-submit`` as words: ``after submit``."""
        return self[key].replace("-", " ").replace("_", " ")


def quoted(text: str) -> str:
    """In typographic quotes, as a sentence quotes what a device said."""
    return f"\u201c{text}\u201d"


def joined(*parts: str, sep: str = ", ") -> str:
    """The non-empty parts, joined."""
    return sep.join(p for p in parts if p)


def in_parens(text: str) -> str:
    """`` (text)`` or nothing."""
    return f" ({text})" if text else ""
