"""Scrub a Playwright trace (trace.zip) of every secret, then prove it with the scanner.

Playwright records typed passwords in clear: in ``fill`` parameters, in DOM snapshots
(``__playwright_value_``), in request headers (HTTP Basic) and bodies. Its maintainers decline
to redact traces, so we rewrite every member of the zip with every form of every secret
replaced (:class:`evidence_kit.redact.Redactor`: raw, base64 at all alignments, URL, hex,
JSON, UTF-16), then scan the result (:func:`evidence_kit.redact.scan_path`). A trace that
still holds anything is dropped; the caller journals why.

Short all-digit secrets (TOTP codes) are special: "493017" also occurs inside timestamps and
sizes, and replacing it there would corrupt the trace. Their raw form is therefore only
replaced where it stands alone (no letter, digit or dot on either side: not inside a
number, a decimal, a hex digest or a resource name), and checked the same way. A typed code
sits in a JSON string, an attribute, a form or URL parameter, where it does stand alone.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from evidence_kit.redact import PLACEHOLDER, Redactor, scan_path, secret_variants

SHORT_CODE = re.compile(r"^[0-9]{4,10}$")


@dataclass
class ScrubResult:
    kept: bool
    members: int = 0
    members_changed: int = 0
    replacements: int = 0
    findings: list[str] = field(default_factory=list)
    reason: str = ""

    def record(self) -> dict[str, object]:
        return {
            "kept": self.kept, "members": self.members, "members_changed": self.members_changed,
            "replacements": self.replacements, "findings": self.findings[:20], "reason": self.reason,
        }


class _Scrubber:
    def __init__(self, secrets: Iterable[str]) -> None:
        values = [s for s in secrets if s]
        self.long = [s for s in values if not SHORT_CODE.match(s)]
        self.codes = [s for s in values if SHORT_CODE.match(s)]
        self.redactor = Redactor(self.long)
        # Encoded forms of codes (base64, hex...) are distinctive enough to replace anywhere.
        self.code_forms = Redactor(
            form for code in self.codes for form in secret_variants(code) if form != code.encode()
        )
        self.forms = [f for s in self.long for f in secret_variants(s)]
        self.forms += [f for c in self.codes for f in secret_variants(c)]
        self.code_re = (
            re.compile(
                rb"(?<![0-9A-Za-z.])(?:" + b"|".join(re.escape(c.encode()) for c in self.codes) + rb")(?![0-9A-Za-z.])"
            )
            if self.codes else None
        )

    def present(self, data: bytes) -> bool:
        """Fast pre-check (C substring search per form) before the slower regex pass."""
        return any(form in data for form in self.forms)

    def scrub(self, data: bytes) -> tuple[bytes, int]:
        if not self.present(data):
            return data, 0
        before = data.count(PLACEHOLDER)
        data = self.code_forms.redact_bytes(self.redactor.redact_bytes(data))
        count = data.count(PLACEHOLDER) - before
        if self.code_re is not None:
            data, n = self.code_re.subn(PLACEHOLDER, data)
            count += n
        return data, count

    def code_findings(self, path: Path) -> list[str]:
        if self.code_re is None:
            return []
        out = []
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                data = zf.read(info)
                if self.code_re.search(data) or self.code_forms.find(data):
                    out.append(f"{path.name}!{info.filename}: one-time code found")
        return out


def scrub_trace(src: Path, dest: Path, secrets: Iterable[str]) -> ScrubResult:
    """Write a scrubbed copy of ``src`` to ``dest``; delete ``dest`` again unless it scans clean."""
    values = [s for s in secrets if s]
    scrubber = _Scrubber(values)
    result = ScrubResult(kept=False)
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
            for info in zin.infolist():
                data = zin.read(info)
                clean, n = scrubber.scrub(data)
                result.members += 1
                if n:
                    result.members_changed += 1
                    result.replacements += n
                out_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                # Images are compressed already: storing them saves CPU for nothing lost.
                stored = info.filename.lower().endswith((".jpeg", ".jpg", ".png", ".webm", ".woff2"))
                out_info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                zout.writestr(out_info, clean)
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        dest.unlink(missing_ok=True)
        result.reason = f"trace unreadable: {type(exc).__name__}"
        return result
    findings = [str(f) for f in scan_path(dest, scrubber.long)] if scrubber.long else []
    findings += scrubber.code_findings(dest)
    if findings:
        dest.unlink(missing_ok=True)
        result.findings = findings
        result.reason = "secret still present after scrub; trace dropped"
        return result
    result.kept = True
    return result
