"""Source references, served to :class:`~evidence_kit.secrets.SecretResolver` as a scheme plug-in.

A reference reads one secret field of one entry of a source by the entry's stable id::

    SCHEME:ID/FIELD     e.g.  bitwarden:5b1e7c0a-...-9f2d/password   itglue:4410931/totp
                              kdbx:2f0c...-a1b3/fields/Enable secret

SCHEME is the source's (``itglue``, ``hudu``, ``passportal``, ``bitwarden``, ``kdbx``,
``onepassword``, ``keeper``), read from the inventory's ``case.sources.SCHEME``; ID is the
entry's id in that source (``/``, ``%`` and spaces percent-escaped); FIELD is ``password``,
``totp`` (the seed or ``otpauth://`` URI, as stored) or ``fields/NAME`` (a hidden custom
field). The source is opened once per run, decrypted in memory if it is an age file; messages
name references and files, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evidence_kit.errors import SecretError
from evidence_kit.importers.interface import CUSTOM, PASSWORD, TOTP
from evidence_kit.importers.registry import IDENTITY_ENV, SCHEMES, open_source
from evidence_kit.secrets import Secret, SecretRef

FIELDS = f"{PASSWORD}, {TOTP} or {CUSTOM}NAME"


def check(scheme: str, arg: str) -> str | None:
    """What is wrong with the part after ``SCHEME:``, or None (for ``parse_secret_ref``)."""
    ident, sep, field = arg.partition("/")
    if not ident.strip() or not sep or not (field in (PASSWORD, TOTP) or (
            field.startswith(CUSTOM) and field[len(CUSTOM):].strip())):
        return f"{scheme} reference must be {scheme}:ID/FIELD (FIELD: {FIELDS})"
    return None


def reference(scheme: str, entry_id: str, field: str) -> str:
    return f"{scheme}:{entry_id}/{field}"


class Server:
    """Opens each source the first time one of its references is resolved, and reads from it."""

    def __init__(self, sources: Mapping[str, Any], base_dir: Path, environ: Mapping[str, str],
                 resolve: Callable[[SecretRef, str], Secret]) -> None:
        self._sources = sources
        self._base = base_dir
        self._env = environ
        self._resolve = resolve
        self._books: dict[str, tuple[str, dict[str, Mapping[str, str]]]] = {}

    def fetch(self, ref: SecretRef, label: str) -> str:
        file, book = self._book(ref, label)
        ident, _, field = ref.arg.partition("/")
        values = book.get(ident)
        if values is None:
            raise SecretError(f"{label}: {ref.text}: no entry with id '{ident}' in {file}")
        if field not in values:
            raise SecretError(f"{label}: {ref.text}: that entry has no {field} in {file} (empty or absent)")
        return values[field]

    def _book(self, ref: SecretRef, label: str) -> tuple[str, dict[str, Mapping[str, str]]]:
        scheme = ref.scheme
        if scheme in self._books:
            return self._books[scheme]
        spec = self._sources.get(scheme)
        if spec is None:
            raise SecretError(f"{label}: {ref.text} needs the inventory's case.sources.{scheme} "
                              "(the source file it reads; evidence-kit import writes it)")
        path = spec.path_from(self._base, spec.file)
        identity = spec.path_from(self._base, spec.identity)
        if identity is None and self._env.get(IDENTITY_ENV):
            identity = Path(self._env[IDENTITY_ENV])
        password = self._resolve(spec.password, f"source '{scheme}' password") if spec.password else None
        fmt, found = open_source(path, spec.format, identity, password, spec.path_from(self._base, spec.keyfile))
        self._books[scheme] = (str(path), fmt.secrets(found))
        return self._books[scheme]


__all__ = ["SCHEMES", "Server", "check", "reference"]
