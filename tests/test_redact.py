"""Redaction in streams and the scanner: raw and encoded secrets, split across reads."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_kit.redact import Redactor, scan_path

SECRET = "Sw0rd-fi$h/+=&?"


def encodings(secret: str, prefix: bytes = b"user:") -> list[bytes]:
    raw = secret.encode()
    return [
        raw, base64.b64encode(prefix + raw), base64.b64encode(b"x" + raw), base64.b64encode(raw),
        base64.urlsafe_b64encode(b"ab" + raw), quote(secret, safe="").encode(), quote_plus(secret).encode(),
        raw.hex().encode(), raw.hex().upper().encode(), json.dumps(secret).encode(),
    ]


def test_every_encoding_is_redacted() -> None:
    r = Redactor([SECRET])
    for form in encodings(SECRET):
        out = r.redact_bytes(b"<<" + form + b">>")
        assert r.find(out) == [], (form, out)
        assert b"[REDACTED]" in out


@settings(max_examples=200, deadline=None)
@given(
    before=st.binary(max_size=40), after=st.binary(max_size=40),
    cuts=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=40),
)
def test_stream_catches_secrets_split_across_reads(before: bytes, after: bytes, cuts: list[int]) -> None:
    r = Redactor([SECRET])
    data = before + SECRET.encode() + after + SECRET.encode()
    stream = r.stream()
    out, i, k = b"", 0, 0
    while i < len(data):
        n = cuts[k % len(cuts)]
        out += stream.feed(data[i : i + n])
        i, k = i + n, k + 1
    out += stream.flush()
    assert SECRET.encode() not in out
    assert r.find(out) == []


def test_scanner_finds_secrets_in_files_and_zip_members(tmp_path: Path) -> None:
    (tmp_path / "clean.txt").write_text("nothing here")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "leak.json").write_text(json.dumps({"pw": base64.b64encode(b"u:" + SECRET.encode()).decode()}))
    with zipfile.ZipFile(tmp_path / "trace.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("trace.trace", "fill " + quote(SECRET, safe=""))
        zf.writestr("ok.txt", "fine")
    findings = scan_path(tmp_path, [SECRET])
    where = {(f.path, f.member) for f in findings}
    assert ("sub/leak.json", None) in where
    assert ("trace.zip", "trace.trace") in where
    assert all(f.member != "ok.txt" for f in findings)
    assert not any(f.path == "clean.txt" for f in findings)
