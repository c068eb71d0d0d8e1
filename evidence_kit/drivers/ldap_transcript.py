"""The LDAP conversation as evidence: one timestamped text line per operation, and the same
operations as JSON records, written by the directory driver (drivers/directory.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from evidence_kit.case.journal import utc_now


class Transcript:
    """The LDAP conversation: one timestamped text line per operation and the same as JSON."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.operations: list[dict[str, Any]] = []
        self._t0 = time.monotonic()

    def op(self, op: str, request: dict[str, Any], result: dict[str, Any], started: float,
           entries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        record = {
            "time": utc_now(), "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
            "op": op, "request": request, "result": result,
        }
        if entries is not None:
            record["entries"] = entries
        self.operations.append(record)
        req = " ".join(f"{k}={_short(v, 2000)}" for k, v in request.items())  # the request in full
        res = " ".join(f"{k}={_short(v)}" for k, v in result.items())
        self.lines.append(f"{record['time']}  {op:<9} {req}\n{' ' * 29}-> {res} ({record['elapsed_ms']} ms)")
        for entry in entries or []:
            self.lines.append(f"{' ' * 29}   dn: {entry.get('dn', '')}")
            for name, values in entry.get("attributes", {}).items():
                for v in values:
                    self.lines.append(f"{' ' * 29}   {name}: {_short(v, 200)}")
        return record

    def note(self, text: str) -> None:
        self.lines.append(f"{utc_now()}  note      {text}")
        self.operations.append({"time": utc_now(), "op": "note", "text": text})

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
