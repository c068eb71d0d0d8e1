"""Redaction of secrets in streams and files, and the scanner that proves none got through.

A secret may appear raw or encoded: base64 (at any byte alignment), URL-encoding, hex, JSON
escaping. :func:`secret_variants` lists every form; :class:`Redactor` replaces them;
:class:`StreamRedactor` does the same across reads (a secret split between two reads is held
back until it is whole); :func:`scan_path` is the scanner tests and the trace scrub rely on;
:func:`redact_logs` keeps library log records (paramiko's, ldap3's, playwright's) clean too.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

PLACEHOLDER = b"[REDACTED]"
# Encoded fragments shorter than this would match by chance in binary data.
MIN_FRAGMENT = 6


def _b64_fragments(secret: bytes, alphabet: str) -> set[bytes]:
    """The base64 characters that depend only on ``secret``, for each of the 3 alignments."""
    out: set[bytes] = set()
    for offset in range(3):
        padded = b"\0" * offset + secret
        enc = base64.b64encode(padded) if alphabet == "std" else base64.urlsafe_b64encode(padded)
        start = -(-offset // 3) * 4  # first group that holds only secret bytes
        end = ((offset + len(secret)) // 3) * 4  # last group that holds only secret bytes
        frag = enc[start:end]
        if len(frag) >= MIN_FRAGMENT:
            out.add(frag)
    return out


def secret_variants(secret: str | bytes) -> dict[bytes, str]:
    """Every encoded form of ``secret`` we look for, mapped to the encoding's name."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    text = raw.decode("utf-8", "replace")
    forms: dict[bytes, str] = {}
    if not raw:
        return forms

    def add(value: bytes | str, name: str) -> None:
        b = value.encode("utf-8") if isinstance(value, str) else value
        if b and b not in forms and (len(b) >= MIN_FRAGMENT or name == "raw"):
            forms[b] = name

    add(raw, "raw")
    for frag in _b64_fragments(raw, "std"):
        add(frag, "base64")
    for frag in _b64_fragments(raw, "url"):
        add(frag, "base64url")
    for q in (quote(text, safe=""), quote_plus(text, safe="")):
        add(q, "url")
        add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), q), "url")
    add(raw.hex(), "hex")
    add(raw.hex().upper(), "hex")
    add(json.dumps(text)[1:-1], "json")
    add(json.dumps(text, ensure_ascii=False)[1:-1], "json")
    add(text.encode("utf-16-le"), "utf-16")
    return forms


class Redactor:
    """Replaces every known form of a set of secrets with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str | bytes] = ()) -> None:
        self._forms: dict[bytes, str] = {}
        self._pattern: re.Pattern[bytes] | None = None
        self._stale = False
        self._lock = threading.Lock()
        self.max_len = 0
        for s in secrets:
            self.add(s)

    def add(self, secret: str | bytes) -> None:
        forms = secret_variants(secret)
        if not forms:
            return
        with self._lock:
            self._forms.update(forms)
            self._stale = True  # compiled at the next use: adding n secrets compiles once, not n times
            self.max_len = max(self.max_len, *(len(f) for f in forms))

    def _compiled(self) -> re.Pattern[bytes] | None:
        if self._stale:
            with self._lock:
                if self._stale:
                    # Longest first so a whole encoded form wins over a shorter one inside it.
                    ordered = sorted(self._forms, key=len, reverse=True)
                    self._pattern = re.compile(b"|".join(re.escape(f) for f in ordered))
                    self._stale = False
        return self._pattern

    def __bool__(self) -> bool:
        return bool(self._forms)

    def redact_bytes(self, data: bytes) -> bytes:
        pattern = self._compiled()
        if pattern is None or not data:
            return data
        return pattern.sub(PLACEHOLDER, data)

    def redact_text(self, text: str) -> str:
        if not self._forms or not text:
            return text
        return self.redact_bytes(text.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like structure (keys included)."""
        if isinstance(obj, str):
            return self.redact_text(obj)
        if isinstance(obj, bytes):
            return self.redact_bytes(obj)
        if isinstance(obj, dict):
            return {self.redact_obj(k): self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.redact_obj(v) for v in obj]
        return obj

    def find(self, data: bytes) -> list[str]:
        """Names of the encodings of any secret found in ``data``."""
        pattern = self._compiled()
        if pattern is None:
            return []
        return sorted({self._forms[m.group(0)] for m in pattern.finditer(data)})

    def partial_suffix(self, data: bytes) -> int:
        """Length of the longest suffix of ``data`` that is a proper prefix of a secret form."""
        start = max(0, len(data) - (self.max_len - 1))
        for i in range(start, len(data)):
            tail = data[i:]
            if any(form.startswith(tail) for form in self._forms):
                return len(data) - i
        return 0

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self)


class StreamRedactor:
    """Redacts a byte stream fed in pieces; a secret split across pieces is still caught.

    It holds back the last ``max_len - 1`` bytes of what it has seen (the only place a partial
    secret can hide) until more data or :meth:`flush` decides them.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._r = redactor
        self._buf = b""

    def feed(self, data: bytes) -> bytes:
        if not self._r:
            return data
        out = self._r.redact_bytes(self._buf + data)
        # Hold back only the shortest tail that could still grow into a secret: the longest
        # suffix of the output that is a proper prefix of some known form.
        hold = self._r.partial_suffix(out)
        self._buf = out[len(out) - hold:] if hold else b""
        return out[: len(out) - hold]

    def flush(self) -> bytes:
        out = self._r.redact_bytes(self._buf)
        self._buf = b""
        return out


@dataclass(frozen=True)
class Finding:
    path: str
    member: str | None
    encodings: tuple[str, ...]

    def __str__(self) -> str:
        where = f"{self.path}!{self.member}" if self.member else self.path
        return f"{where}: secret found ({', '.join(self.encodings)})"


def _scan_stream(chunks: Iterator[bytes], redactor: Redactor) -> list[str]:
    found: set[str] = set()
    overlap = b""
    keep = max(redactor.max_len - 1, 0)
    for chunk in chunks:
        window = overlap + chunk
        found.update(redactor.find(window))
        overlap = window[-keep:] if keep else b""
    return sorted(found)


def _file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(size):
            yield block


def scan_bytes(data: bytes, secrets: Iterable[str | bytes]) -> list[str]:
    return Redactor(secrets).find(data)


def scan_path(root: Path, secrets: Iterable[str | bytes]) -> list[Finding]:
    """Scan a file or a whole tree for any form of the secrets; zip members are opened too."""
    redactor = Redactor(secrets)
    if not redactor:
        return []
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    findings: list[Finding] = []
    for path in files:
        rel = str(path.relative_to(root)) if path != root else path.name
        hits = _scan_stream(_file_chunks(path), redactor)
        if hits:
            findings.append(Finding(rel, None, tuple(hits)))
        if zipfile.is_zipfile(path):
            findings.extend(_scan_zip(path, rel, redactor))
    return findings


def _member_chunks(member: Any, size: int = 1 << 20) -> Iterator[bytes]:
    while block := member.read(size):
        yield block


def _scan_zip(path: Path, rel: str, redactor: Redactor) -> list[Finding]:
    findings: list[Finding] = []
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as member:
                    hits = _scan_stream(_member_chunks(member), redactor)
                if hits:
                    findings.append(Finding(rel, info.filename, tuple(hits)))
    except (zipfile.BadZipFile, OSError, RuntimeError):
        findings.append(Finding(rel, None, ("unreadable-zip",)))
    return findings


# -- library log records ----------------------------------------------------------------------
# A log record factory redacts every record at creation, whatever logger made it and wherever
# it is sent. Sessions register their secrets through redact_logs(); the set only grows during
# a process, and the factory is installed by the first registration, from this one place.
_log_redactor = Redactor()
_log_lock = threading.Lock()
_log_installed = False


def redact_logs(secret: str) -> None:
    """From now on, no log record of this process carries ``secret`` in any encoding."""
    if not secret:
        return
    with _log_lock:
        _log_redactor.add(secret)
        if not _log_installed:
            _install_log_factory()


def _install_log_factory() -> None:
    global _log_installed
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _log_redactor:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to logging's own handling
                return record
            record.msg = _log_redactor.redact_text(message)
            record.args = None
        return record

    logging.setLogRecordFactory(factory)
    # Libraries' errors (a reset socket in paramiko's transport thread) are recorded in the
    # journal by the drivers; without a handler Python would print them to stderr.
    for name in ("paramiko", "ldap3"):
        logging.getLogger(name).addHandler(logging.NullHandler())
    _log_installed = True
