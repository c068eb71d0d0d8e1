"""What the CSV exports share: header matching, strict reading, and rows by column name.

Header names are compared case- and space-insensitively (``Passportal ID`` = ``passportal id``),
a UTF-8 byte-order mark (Excel's) is dropped, and reading is strict: an unbalanced quote, a NUL
byte or a row whose field count differs from the header is an error naming the line, never a
silently shifted column (a password landing in the ``url`` column would be written out).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from abc import abstractmethod
from collections.abc import Iterator
from typing import ClassVar

from evidence_kit.importers.interface import Probe, Record, SourceFormat

# Notes fields can be long; the csv module's default limit (128 KiB) is not a format rule.
FIELD_LIMIT = 16 << 20
SECRET_NAME = re.compile(r"(?i)pass|secret|enable|pin\b|key|token|otp")
TRUE = {"true", "yes", "1", "y", "archived"}


@functools.cache
def column(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).lower()


def header_of(text: str) -> list[str]:
    """The first row of a CSV text (raises ``csv.Error`` on broken quoting)."""
    _limit()
    reader = csv.reader(io.StringIO(text), strict=True)
    return next(reader, [])


def _limit() -> None:
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)


class CsvFormat(SourceFormat):
    """A CSV export: ``required`` columns must be there, ``signature`` ones tell it apart."""

    container = "csv"
    required: ClassVar[tuple[str, ...]]
    optional: ClassVar[tuple[str, ...]] = ()
    signature: ClassVar[tuple[str, ...]]  # columns only this export has
    min_signature: ClassVar[int] = 2

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    def missing(self, probe: Probe) -> tuple[str, ...] | None:
        have = {column(h) for h in probe.header or []}
        if sum(column(c) in have for c in self.signature) < self.min_signature:
            return None
        return tuple(c for c in self.required if column(c) not in have)

    def rows(self, probe: Probe) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, row by lower-cased column name) for every non-empty data row."""
        _limit()
        assert probe.text is not None
        reader = csv.reader(io.StringIO(probe.text), strict=True)
        try:
            header = [column(h) for h in next(reader, [])]
            for row in reader:
                if not row or row == [""]:
                    continue
                if len(row) != len(header):
                    raise self.error(probe, f"{len(row)} fields where the header has {len(header)} "
                                            "(broken quoting or a stray separator)", f"line {reader.line_num}")
                yield reader.line_num, dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise self.error(probe, f"broken CSV ({exc})", f"line {reader.line_num}")

    def records(self, probe: Probe) -> Iterator[Record]:
        for line, row in self.rows(probe):
            yield self.record(probe, line, row)

    @abstractmethod
    def record(self, probe: Probe, line: int, row: dict[str, str]) -> Record:
        """One row as a record; ``row`` is keyed by :func:`column` names."""


def cell(row: dict[str, str], name: str) -> str:
    """A text cell, trimmed."""
    return row.get(column(name), "").strip()


def secret_cell(row: dict[str, str], name: str) -> str:
    """A secret cell exactly as exported: a space may be part of a password."""
    return row.get(column(name), "")


def truthy(value: str) -> bool:
    return value.strip().lower() in TRUE
