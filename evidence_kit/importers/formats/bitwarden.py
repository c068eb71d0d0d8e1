"""Bitwarden exports: the unencrypted JSON export (personal or organization) and the CSV.

JSON (docs/import.md): ``folders[]`` (id, name) or, for an organization, ``collections[]``
(id, name); ``items[]`` with id, type (1 = login, 2 = secure note, 3 = card, 4 = identity,
5 = SSH key), name, notes, folderId, collectionIds, ``login.uris[].uri``, ``login.username``,
``login.password``, ``login.totp`` and ``fields[]`` (name, value, type: 0 text, 1 hidden,
2 boolean). The id is the item's UUID. A password-protected ("encrypted") JSON export cannot
be read without Bitwarden's key derivation: export unencrypted and age-encrypt the file.

CSV: folder (or collections), favorite, type, name, notes, fields, reprompt, login_uri,
login_username, login_password, login_totp. The CSV has no ids: an entry's id is derived from
what identifies it (folder, name, user name, first URI), ``csv-`` + 16 hex digits, with
``-2``, ``-3``... for exact duplicates, so it survives a re-export that reorders rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from evidence_kit.importers.formats.csvbase import SECRET_NAME, CsvFormat, cell, secret_cell
from evidence_kit.importers.interface import (
    CUSTOM,
    PASSWORD,
    TOTP,
    Entry,
    Probe,
    Record,
    SourceFormat,
    stable_id,
)

TYPES = {1: "login", 2: "secure note", 3: "card", 4: "identity", 5: "ssh key"}
HIDDEN = 1


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _secret(value: Any) -> str:
    return value if isinstance(value, str) else ""


class BitwardenJson(SourceFormat):
    name = "bitwarden_json"
    scheme = "bitwarden"
    label = "Bitwarden JSON export"
    container = "json"
    id_column = "items[].id"
    client_means = "collection (organization export), else top-level folder"

    def missing(self, probe: Probe) -> tuple[str, ...] | None:
        doc = probe.doc
        if not isinstance(doc, dict) or not ({"folders", "collections", "encrypted"} & doc.keys()):
            return None
        return () if "items" in doc or doc.get("encrypted") is True else ("items",)

    def records(self, probe: Probe) -> Iterator[Record]:
        doc = probe.doc
        if doc.get("encrypted") is True:
            raise self.error(probe, "a password-protected (encrypted) Bitwarden export cannot be read; export "
                                    "as unencrypted JSON and age-encrypt the file instead (docs/import.md)")
        items = doc.get("items")
        if not isinstance(items, list):
            raise self.error(probe, "'items' is not a list", "items")
        folders = _names(doc.get("folders"))
        collections = _names(doc.get("collections"))
        for index, item in enumerate(items):
            where = f"items[{index}]"
            if not isinstance(item, dict) or not _text(item.get("id")):
                raise self.error(probe, "an item without 'id' (Bitwarden's item id is the stable reference)", where)
            yield self._record(item, where, folders, collections)

    def _record(self, item: dict[str, Any], where: str, folders: dict[str, str],
                collections: dict[str, str]) -> Record:
        kind = TYPES.get(item.get("type"), f"type {item.get('type')}")  # type: ignore[arg-type]
        login = item.get("login") if isinstance(item.get("login"), dict) else {}
        assert isinstance(login, dict)
        uris = [u.get("uri") for u in login.get("uris") or [] if isinstance(u, dict)]
        owned = sorted(collections.get(c, "") for c in item.get("collectionIds") or [] if c in collections)
        values = {PASSWORD: _secret(login.get("password")), TOTP: _text(login.get("totp"))}
        for f in item.get("fields") or []:
            # hidden fields are secrets; so is a text field whose name says it is one ("Enable secret")
            if isinstance(f, dict) and _text(f.get("name")) and (
                    f.get("type") == HIDDEN or SECRET_NAME.search(_text(f.get("name")))):
                values[CUSTOM + _text(f.get("name"))] = _secret(f.get("value"))
        entry = Entry(
            id=stable_id(item["id"]), title=_text(item.get("name")), username=_text(login.get("username")),
            url=next((_text(u) for u in uris if _text(u)), ""), notes=_secret(item.get("notes")), kind=kind,
            folder=folders.get(item.get("folderId") or "", ""), organization=owned[0] if owned else "",
            login=kind in ("login", "ssh key"), archived=bool(item.get("deletedDate")), position=where,
        )
        return Record(entry, values)


def _names(rows: Any) -> dict[str, str]:
    if not isinstance(rows, list):
        return {}
    return {str(r["id"]): _text(r.get("name")) for r in rows if isinstance(r, dict) and r.get("id")}


class BitwardenCsv(CsvFormat):
    name = "bitwarden_csv"
    scheme = "bitwarden"
    label = "Bitwarden CSV export"
    id_column = "derived: csv- + hash of folder, name, login_username, login_uri"
    client_means = "collection (organization export), else top-level folder"
    required = ("type", "name", "login_uri", "login_username", "login_password")
    optional = ("folder", "collections", "favorite", "notes", "fields", "reprompt", "login_totp")
    signature = ("login_uri", "login_username", "login_password", "login_totp", "reprompt", "favorite")
    min_signature = 3

    def records(self, probe: Probe) -> Iterator[Record]:
        seen: dict[str, int] = {}
        for line, row in self.rows(probe):
            record = self.record(probe, line, row)
            base = record.entry.id
            seen[base] = seen.get(base, 0) + 1
            if seen[base] > 1:
                record = Record(replace(record.entry, id=f"{base}-{seen[base]}"), record.values)
            yield record

    def record(self, probe: Probe, line: int, row: dict[str, str]) -> Record:
        folder = cell(row, "folder").strip("/")
        collections = sorted(c.strip() for c in cell(row, "collections").split(",") if c.strip())
        uri = next((u.strip() for u in cell(row, "login_uri").split(",") if u.strip()), "")
        username = cell(row, "login_username")
        title = cell(row, "name")
        digest = hashlib.sha256("\0".join((folder, title, username, uri)).encode("utf-8")).hexdigest()[:16]
        values = {PASSWORD: secret_cell(row, "login_password"), TOTP: cell(row, "login_totp")}
        # "fields" holds custom fields as "name: value" lines; the CSV does not say which are
        # hidden, so a name that sounds secret is treated as one (and never written out).
        for line_text in secret_cell(row, "fields").splitlines():
            key, sep, value = line_text.partition(": ")
            if sep and SECRET_NAME.search(key):
                values[CUSTOM + key.strip()] = value
        kind = cell(row, "type").lower() or "login"
        entry = Entry(
            id=f"csv-{digest}", title=title, username=username, url=uri, notes=row.get("notes", ""), kind=kind,
            folder=folder, organization=collections[0] if collections else "", login=kind == "login",
            position=f"line {line}",
        )
        return Record(entry, values)
