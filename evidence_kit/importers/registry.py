"""Which format a file is: read it (decrypting an age file in memory), look, and choose.

The container is told by its first bytes (age, KDBX, zip, JSON, else CSV); the format by its
header or structure, each format saying whether it fits (:meth:`SourceFormat.missing`). A file
that looks like one format but lacks required columns is named as that format with what is
missing; a file that fits none is "unknown format" with the list of known ones. Every failure
is a :class:`SourceError`: one line naming the file and the problem, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evidence_kit.errors import KeyFileError
from evidence_kit.importers.formats.bitwarden import BitwardenCsv, BitwardenJson
from evidence_kit.importers.formats.csvbase import header_of
from evidence_kit.importers.formats.hudu import HuduJson
from evidence_kit.importers.formats.itglue import ItGlueCsv
from evidence_kit.importers.formats.keepass import MAGIC as KDBX_MAGIC
from evidence_kit.importers.formats.keepass import KeePassKdbx
from evidence_kit.importers.formats.keeper import KeeperJson
from evidence_kit.importers.formats.onepassword import OnePassword1pux, read_export_data
from evidence_kit.importers.formats.passportal import PassportalCsv
from evidence_kit.importers.interface import Probe, RawSource, SourceError, SourceFormat
from evidence_kit.secrets import Secret

FORMATS: tuple[SourceFormat, ...] = (
    ItGlueCsv(), PassportalCsv(), BitwardenCsv(), HuduJson(), BitwardenJson(), KeeperJson(), OnePassword1pux(),
    KeePassKdbx(),
)
BY_NAME = {f.name: f for f in FORMATS}
SCHEMES = tuple(dict.fromkeys(f.scheme for f in FORMATS))
IDENTITY_ENV = "EVIDENCE_KIT_SOURCE_IDENTITY"

AGE_MAGIC = (b"age-encryption.org/v1\n", b"-----BEGIN AGE ENCRYPTED FILE-----")
ZIP_MAGIC = b"PK\x03\x04"


def names() -> list[str]:
    return [f.name for f in FORMATS]


def read(path: Path, identity: Path | None = None, password: Secret | None = None,
         keyfile: Path | None = None) -> RawSource:
    """The file's plaintext, in memory: an age file is decrypted with ``identity``."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SourceError(file, "file not found")
    except OSError as exc:
        raise SourceError(file, f"cannot read ({exc.strerror or exc.__class__.__name__})")
    encrypted = data.startswith(AGE_MAGIC)
    if encrypted:
        data = _decrypt(file, data, identity)
    return RawSource(Path(path), data, encrypted, password, keyfile)


def _decrypt(file: str, data: bytes, identity: Path | None) -> bytes:
    import pyrage

    from evidence_kit.seal.keys import load_identities

    if b"\n-> scrypt " in data[:400]:
        raise SourceError(file, "age file encrypted to a passphrase; encrypt the export to an age identity "
                                "(age -r RECIPIENT) and give that identity")
    if identity is None:
        raise SourceError(file, f"age-encrypted: give the identity that opens it (--identity FILE or {IDENTITY_ENV})")
    try:
        identities = load_identities(identity)
    except KeyFileError as exc:
        raise SourceError(file, f"identity {exc.one_line()}")
    try:
        return bytes(pyrage.decrypt(data, identities))
    except pyrage.DecryptError as exc:
        text = str(exc)
        if "No matching keys" in text:
            raise SourceError(file, f"the identity {identity} does not open this age file")
        raise SourceError(file, f"broken age file ({text})")


def probe(raw: RawSource) -> Probe:
    """Tell the container and parse what detection needs (once: the formats reuse it)."""
    data = raw.data
    if not data.strip():
        raise SourceError(raw.file, "empty file")
    if data.startswith(KDBX_MAGIC):
        return Probe(raw, "kdbx")
    if data.startswith(ZIP_MAGIC):
        container = Probe(raw, "zip")
        container.doc = read_export_data(container)
        return container
    if b"\0" in data[:4096]:  # no export format here is text with NUL bytes in it
        raise SourceError(raw.file, f"unknown format: a binary file that is not {_known_containers()}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(raw.file, "not UTF-8 text (save the export as UTF-8)")
    if text.lstrip()[:1] in ("{", "["):
        try:
            doc: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(raw.file, f"broken JSON ({exc.msg})", f"line {exc.lineno}, column {exc.colno}")
        return Probe(raw, "json", doc=doc)
    import csv

    try:
        header = header_of(text)
    except csv.Error as exc:
        raise SourceError(raw.file, f"broken CSV ({exc})", "line 1")
    return Probe(raw, "csv", text=text, header=header)


def _known_containers() -> str:
    return "CSV, JSON, a 1PUX zip, a KDBX database or an age file"


def detect(found: Probe, wanted: str | None = None) -> SourceFormat:
    """The format of ``found``: ``wanted`` (checked) or the one that fits."""
    file = found.raw.file
    if wanted is not None:
        fmt = BY_NAME.get(wanted)
        if fmt is None:
            raise SourceError(file, f"unknown --format '{wanted}' (one of {', '.join(names())})")
        if fmt.container != found.container:
            raise SourceError(file, f"not {fmt.label}: the file is {_container_words(found.container)}")
        missing = fmt.missing(found)
        if missing is None:
            raise SourceError(file, f"does not look like {fmt.label} ({_expected(fmt)})")
        if missing:
            raise SourceError(file, f"{fmt.label} without required {_what(found)} {', '.join(missing)}")
        return fmt
    near: list[tuple[SourceFormat, tuple[str, ...]]] = []
    for fmt in FORMATS:
        if fmt.container != found.container:
            continue
        missing = fmt.missing(found)
        if missing == ():
            return fmt
        if missing:
            near.append((fmt, missing))
    if near:
        fmt, missing = min(near, key=lambda pair: len(pair[1]))
        raise SourceError(file, f"looks like {fmt.label} but lacks required {_what(found)} {', '.join(missing)}")
    raise SourceError(file, f"unknown format: {_container_words(found.container)} that is none of "
                            f"{', '.join(names())} (give --format if it is one of them)")


def _what(found: Probe) -> str:
    return "column(s)" if found.container == "csv" else "key(s)"


def _container_words(container: str) -> str:
    return {"csv": "a CSV file", "json": "a JSON file", "zip": "a zip file", "kdbx": "a KeePass database"}[container]


def _expected(fmt: SourceFormat) -> str:
    columns = getattr(fmt, "required", None)
    if columns:
        return "expected columns " + ", ".join(columns)
    return f"expected its structure, see docs/import.md; id: {fmt.id_column}"


def open_source(path: Path, wanted: str | None = None, identity: Path | None = None, password: Secret | None = None,
                keyfile: Path | None = None) -> tuple[SourceFormat, Probe]:
    """Read, decrypt, probe and detect: the format and what it reads from."""
    found = probe(read(path, identity, password, keyfile))
    return detect(found, wanted), found
