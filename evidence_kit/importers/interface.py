"""The interface every import format implements, the entry it yields, and the family's error.

Shaped like pip-audit's plug-in families (one ``interface.py`` per family, an ABC and an
error): a format knows its own container (CSV, JSON, zip, KDBX), recognises itself from the
header or structure (:meth:`SourceFormat.missing`), and reads its records once
(:meth:`SourceFormat.records`). Two views are built from that one reading:

* :meth:`SourceFormat.entries` for ``import``: typed :class:`Entry` objects that hold **no
  secret value**, only the names of the secret fields that are non-empty;
* :meth:`SourceFormat.secrets` for capture: one entry's secret values by stable id, asked for
  by :mod:`evidence_kit.importers.resolve` when a reference is resolved.

Secret field names are the same in every format, so references read alike whatever the
source: ``password``, ``totp`` (the seed or ``otpauth://`` URI) and ``fields/NAME`` for a
hidden custom field.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from evidence_kit.errors import InputError
from evidence_kit.secrets import Secret

PASSWORD = "password"  # noqa: S105 - a field name
TOTP = "totp"
CUSTOM = "fields/"
PLACEHOLDER = "[REDACTED]"
# A secret shorter than this is not searched for in the entry's text fields: "1234" would
# match by chance in a title or note and blank it for nothing.
MIN_SEARCHED = 4


class SourceError(InputError):
    """A source file is unusable: unknown format, missing columns, broken CSV/JSON/zip, no key."""


@dataclass(frozen=True)
class RawSource:
    """A source file read into memory, decrypted there if it was an age file.

    ``password`` and ``keyfile`` unlock a KDBX database; the password is a :class:`Secret`,
    whose ``repr`` names its reference, so a ``RawSource`` can be shown without showing it.
    """

    path: Path
    data: bytes = field(repr=False)
    encrypted: bool = False
    password: Secret | None = None
    keyfile: Path | None = None

    @property
    def file(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class Entry:
    """One credential of a source, without its secrets.

    ``secret_fields`` names the secret fields that hold a non-empty value (``password``,
    ``totp``, ``fields/NAME``): enough to write references and to tell the reviewer what the
    source has, never the values. ``notes`` are read by rules only and never written out
    (people keep passwords in notes). ``redacted`` names the text fields a secret value of the
    same entry was found in and blanked from.
    """

    id: str
    title: str
    username: str = ""
    url: str = ""
    notes: str = ""
    category: str = ""
    kind: str = ""  # the source's own type: IT Glue resource_type, Bitwarden item type...
    folder: str = ""  # folder / group path, "/"-separated
    organization: str = ""  # organization / company / client / vault
    secret_fields: tuple[str, ...] = ()
    archived: bool = False  # archived, trashed or in a recycle bin in the source
    login: bool = True  # False for secure notes, cards, identities
    position: str = ""  # where in the file, for people: "row 17", "items[3]"
    redacted: tuple[str, ...] = ()

    def has(self, secret_field: str) -> bool:
        return secret_field in self.secret_fields

    @property
    def custom_fields(self) -> tuple[str, ...]:
        """Names of the hidden custom fields that hold a value (without the ``fields/`` prefix)."""
        return tuple(f.removeprefix(CUSTOM) for f in self.secret_fields if f.startswith(CUSTOM))

    @property
    def client(self) -> str:
        """What ``--client`` matches: the organization, else the first folder / group."""
        return self.organization or self.folder.split("/", 1)[0]


@dataclass(frozen=True)
class Record:
    """What a format reads for one entry: the entry and its secret values (internal only)."""

    entry: Entry
    values: Mapping[str, str] = field(repr=False)


_TEXT_FIELDS = ("title", "username", "url", "notes", "category", "kind", "folder", "organization")


def finish(record: Record) -> Entry:
    """The entry as :meth:`SourceFormat.entries` gives it: which secrets it has, none of them.

    A secret value that also appears in one of the entry's own text fields (a password typed
    into the title, a URL with the password in it) is blanked there, so nothing written from
    the entry can carry it.
    """
    values = [v for v in record.values.values() if v]
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        text = getattr(record.entry, name)
        cleaned = text
        for value in values:
            if len(value) >= MIN_SEARCHED and value in cleaned:
                cleaned = cleaned.replace(value, PLACEHOLDER)
        if cleaned != text:
            changes[name] = cleaned
    present = tuple(k for k, v in record.values.items() if v)
    return replace(record.entry, secret_fields=present, redacted=tuple(changes), **changes)


class Probe:
    """What the registry learnt of a file before choosing a format (parsed once, shared)."""

    def __init__(self, raw: RawSource, container: str, text: str | None = None, header: list[str] | None = None,
                 doc: Any = None) -> None:
        self.raw = raw
        self.container = container  # "csv", "json", "zip" or "kdbx"
        self.text = text  # CSV: the decoded text
        self.header = header  # CSV: the header row
        self.doc = doc  # JSON: the parsed document; 1PUX: export.data parsed


class SourceFormat(ABC):
    """One export format. Subclasses set the class attributes and implement the two methods."""

    name: ClassVar[str]  # the --format value, e.g. "bitwarden_json"
    scheme: ClassVar[str]  # the reference scheme, e.g. "bitwarden"
    label: ClassVar[str]  # for people, e.g. "Bitwarden JSON export (unencrypted)"
    container: ClassVar[str]  # "csv", "json", "zip" or "kdbx"
    id_column: ClassVar[str]  # what the stable id is, for docs and messages
    client_means: ClassVar[str] = "organization"  # what --client selects in this format

    @abstractmethod
    def missing(self, probe: Probe) -> tuple[str, ...] | None:
        """None: not this format; (): this format; names: this format, lacking these columns/keys."""

    @abstractmethod
    def records(self, probe: Probe) -> Iterator[Record]:
        """Every entry of the file with its secret values. Raises :class:`SourceError`."""

    def entries(self, probe: Probe) -> Iterator[Entry]:
        """The entries, without secret values (what ``import`` works with)."""
        for record in self.records(probe):
            yield finish(record)

    def secrets(self, probe: Probe) -> dict[str, Mapping[str, str]]:
        """Entry id -> its non-empty secret values (what capture resolves references from)."""
        book: dict[str, Mapping[str, str]] = {}
        for record in self.records(probe):  # a duplicate id reads the first (import says so)
            book.setdefault(record.entry.id, {k: v for k, v in record.values.items() if v})
        return book

    def error(self, probe: Probe, problem: str, where: str | None = None) -> SourceError:
        return SourceError(probe.raw.file, problem, where)


def secret_text(value: Any) -> str:
    """A secret value from parsed JSON exactly as stored (spaces kept); anything else is empty."""
    return value if isinstance(value, str) else ""


def stable_id(value: object) -> str:
    """A source's id as it goes into a reference: text, with ``/``, ``%`` and spaces escaped.

    Every id the formats use (numbers, UUIDs, Keeper's base64url uids) passes unchanged; the
    escape only keeps ``SCHEME:ID/FIELD`` unambiguous for an odd one.
    """
    return quote(str(value).strip(), safe="-_.~:@+=!$&'()*,;")
