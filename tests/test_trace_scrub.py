"""The trace scrub: every form of every secret out of every zip member, or the trace is dropped."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path
from urllib.parse import quote

from evidence_kit.drivers.web.trace_scrub import scrub_trace
from evidence_kit.redact import scan_path
from tests.helpers import random_password


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_every_encoding_in_every_member_is_replaced(tmp_path: Path) -> None:
    pw = random_password()
    auth = base64.b64encode(f"admin:{pw}".encode()).decode()  # HTTP Basic: secret at an offset
    trace = json.dumps({"type": "action", "method": "fill", "params": {"value": pw}}).encode() + b"\n"
    snapshot = f'<input type="password" __playwright_value_="{pw}">'.encode()
    network = json.dumps({"headers": [{"name": "Authorization", "value": f"Basic {auth}"}],
                          "postData": f"user=admin&pw={quote(pw, safe='')}"}).encode()
    src = _zip(tmp_path / "raw.zip", {
        "trace.trace": trace + snapshot, "trace.network": network,
        "resources/abc.json": pw.encode().hex().encode(), "resources/utf16": pw.encode("utf-16-le"),
    })
    dest = tmp_path / "trace.zip"
    result = scrub_trace(src, dest, [pw])
    assert result.kept, result
    assert result.members == 4 and result.members_changed == 4 and result.replacements >= 5
    assert scan_path(dest, [pw]) == []
    with zipfile.ZipFile(dest) as zf:
        assert b"[REDACTED]" in zf.read("trace.trace")
        json.loads(zf.read("trace.trace").splitlines()[0])  # still valid JSON lines


def test_short_numeric_codes_only_where_they_stand_alone(tmp_path: Path) -> None:
    code = "493017"
    data = b'{"time":17954930175.25,"value":"493017","size":1493017,"sha1":"ab493017cd","t":493017.5}'
    data += b"\n<input __playwright_value_=\"493017\">otc=493017&x=1"
    src = _zip(tmp_path / "raw.zip", {"trace.trace": data})
    dest = tmp_path / "trace.zip"
    result = scrub_trace(src, dest, [code])
    assert result.kept
    with zipfile.ZipFile(dest) as zf:
        out = zf.read("trace.trace")
    assert out == (b'{"time":17954930175.25,"value":"[REDACTED]","size":1493017,"sha1":"ab493017cd","t":493017.5}'
                   b'\n<input __playwright_value_="[REDACTED]">otc=[REDACTED]&x=1')


def test_secret_the_scrub_cannot_reach_drops_the_trace(tmp_path: Path) -> None:
    pw = random_password()
    # A member *name* holding the secret: content rewriting cannot fix it, the scan must catch it.
    src = _zip(tmp_path / "raw.zip", {f"resources/{pw}.txt": b"x"})
    dest = tmp_path / "trace.zip"
    result = scrub_trace(src, dest, [pw])
    assert not result.kept and result.findings and "dropped" in result.reason
    assert not dest.exists()


def test_unreadable_trace_is_dropped(tmp_path: Path) -> None:
    src = tmp_path / "raw.zip"
    src.write_bytes(b"not a zip")
    result = scrub_trace(src, tmp_path / "trace.zip", ["Secret-123456"])
    assert not result.kept and "unreadable" in result.reason
