"""BagIt (RFC 8493): the tag files seal writes and the checks verify runs.

Seal never moves the case folder into ``data/`` (``bagit.make_bag`` would change the evidence
folder in place): the bag exists only inside the tar stream, built from digests computed while
the payload streams. ``bagit.py --validate`` accepts the result (an interop test runs it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from evidence_kit.errors import CheckProblem
from evidence_kit.seal.archive import FileDigest
from evidence_kit.seal.model import (
    ALGORITHMS,
    BAG_INFO,
    BAGIT_TXT,
    DATA_DIR,
    MANIFESTS,
    SIGNED_FILE,
    TAGMANIFESTS,
    is_unsigned_tag_file,
)

BAGIT_TXT_BODY = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


class BagProblem(CheckProblem):
    """The bag is incomplete or a manifest does not match."""


def encode_path(path: str) -> str:
    """RFC 8493 section 2.1.3: percent-encode %, CR and LF in manifest paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(path: str) -> str:
    return path.replace("%0A", "\n").replace("%0a", "\n").replace("%0D", "\r").replace("%0d", "\r").replace(
        "%25", "%")


def _clean(value: str) -> str:
    return " ".join(str(value).split())


def bag_info(fields: Iterable[tuple[str, str]]) -> bytes:
    return "".join(f"{label}: {_clean(value)}\n" for label, value in fields).encode("utf-8")


def manifest(digests: Mapping[str, FileDigest], algorithm: str) -> bytes:
    """Manifest lines for ``data/...`` paths, sorted, as bagit.py writes them."""
    lines = [f"{getattr(d, algorithm)}  {encode_path(p)}\n" for p, d in sorted(digests.items())]
    return "".join(lines).encode("utf-8")


def digest_bytes(data: bytes) -> FileDigest:
    return FileDigest(len(data), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())


def parse_manifest(text: bytes, name: str) -> dict[str, str]:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise BagProblem(f"{name} is not UTF-8")
    entries: dict[str, str] = {}
    for number, line in enumerate(decoded.splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, path = line.partition(" ")
        path = path.lstrip(" ").lstrip("*") if sep else ""
        if not path or not digest:
            raise BagProblem(f"{name} line {number} is malformed")
        path = decode_path(path)
        if path in entries:
            raise BagProblem(f"{name} lists {path!r} twice")
        entries[path] = digest.lower()
    return entries


def parse_bag_info(text: bytes) -> dict[str, str]:
    info: dict[str, str] = {}
    last: str | None = None
    for line in text.decode("utf-8", errors="replace").splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            info[last] += " " + line.strip()
            continue
        label, sep, value = line.partition(":")
        if sep:
            last = label.strip()
            info[last] = value.strip()
    return info


def check_bag(root: Path, files: Mapping[str, FileDigest]) -> tuple[dict[str, str], str]:
    """Check an extracted bag against the digests computed during extraction.

    Returns (bag-info fields, a one-line summary); raises :class:`BagProblem`.
    """
    def read(name: str) -> bytes:
        if name not in files:
            raise BagProblem(f"{name} is missing")
        return (root / name).read_bytes()

    if read(BAGIT_TXT).replace(b"\r\n", b"\n").strip() != BAGIT_TXT_BODY.strip():
        raise BagProblem(f"{BAGIT_TXT} does not declare BagIt 1.0 / UTF-8")
    info = parse_bag_info(read(BAG_INFO))
    payload = {p: d for p, d in files.items() if p.startswith(DATA_DIR + "/")}
    for algorithm, name in zip(ALGORITHMS, MANIFESTS, strict=True):
        entries = parse_manifest(read(name), name)
        missing = sorted(set(entries) - set(payload))
        if missing:
            raise BagProblem(f"{name}: {missing[0]} is listed but missing" + _more(missing))
        extra = sorted(set(payload) - set(entries))
        if extra:
            raise BagProblem(f"{extra[0]} is in the bag but not in {name}" + _more(extra))
        bad = sorted(p for p, d in entries.items() if getattr(payload[p], algorithm) != d)
        if bad:
            raise BagProblem(f"{bad[0]}: {algorithm} does not match {name}" + _more(bad))
    oxum = info.get("Payload-Oxum")
    actual = f"{sum(d.size for d in payload.values())}.{len(payload)}"
    if oxum != actual:
        raise BagProblem(f"Payload-Oxum is {oxum!r}, the payload is {actual}")
    covered: set[str] = set()
    for algorithm, name in zip(ALGORITHMS, TAGMANIFESTS, strict=True):
        entries = parse_manifest(read(name), name)
        for path, digest in sorted(entries.items()):
            if path not in files:
                raise BagProblem(f"{name}: {path} is listed but missing")
            if getattr(files[path], algorithm) != digest:
                raise BagProblem(f"{path}: {algorithm} does not match {name}")
        if name == SIGNED_FILE:
            covered = set(entries)
    required = {BAGIT_TXT, BAG_INFO, *MANIFESTS}
    for path in sorted(files):
        if path.startswith(DATA_DIR + "/") or path in TAGMANIFESTS or is_unsigned_tag_file(path):
            continue
        if path not in covered:
            raise BagProblem(f"tag file {path} is not listed in {SIGNED_FILE} (not covered by the signature)")
    uncovered = sorted(required - covered)
    if uncovered:
        raise BagProblem(f"{SIGNED_FILE} does not cover {uncovered[0]}")
    return info, f"{len(payload)} payload files, {actual.split('.')[0]} bytes; sha256 and sha512 manifests match"


def _more(items: list[str]) -> str:
    return f" (and {len(items) - 1} more)" if len(items) > 1 else ""
