"""Keeper's JSON export (Keeper Commander ``export --format json``, or the web vault's).

``records[]`` with uid, title, login, password, login_url, notes, ``$type``, ``custom_fields``
(a mapping; the TOTP is ``$oneTimeCode``, an ``otpauth://`` URI) and ``folders[]`` (each
``folder`` and/or ``shared_folder``) (docs/import.md). The id is the record uid;
``--client`` selects a shared folder, else a top-level folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence_kit.importers.formats.csvbase import SECRET_NAME
from evidence_kit.importers.interface import (
    CUSTOM,
    PASSWORD,
    TOTP,
    Entry,
    Probe,
    Record,
    SourceFormat,
    secret_text,
    stable_id,
)

OTP_FIELD = "$oneTimeCode"
LOGIN_TYPES = {"", "login", "serverCredentials", "databaseCredentials", "general"}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class KeeperJson(SourceFormat):
    name = "keeper_json"
    scheme = "keeper"
    label = "Keeper JSON export"
    container = "json"
    id_column = "records[].uid"
    client_means = "shared folder, else top-level folder"

    def missing(self, probe: Probe) -> tuple[str, ...] | None:
        doc = probe.doc
        if isinstance(doc, dict) and "records" in doc:
            return ()
        return None

    def records(self, probe: Probe) -> Iterator[Record]:
        rows = probe.doc["records"]
        if not isinstance(rows, list):
            raise self.error(probe, "'records' is not a list", "records")
        for index, row in enumerate(rows):
            where = f"records[{index}]"
            if not isinstance(row, dict) or not _text(row.get("uid")):
                raise self.error(probe, "a record without 'uid' (Keeper's record uid is the stable reference)", where)
            custom = row.get("custom_fields") if isinstance(row.get("custom_fields"), dict) else {}
            assert isinstance(custom, dict)
            values = {PASSWORD: secret_text(row.get("password")),
                      TOTP: _text(custom.get(OTP_FIELD))}
            for key, value in custom.items():
                if key != OTP_FIELD and isinstance(value, str) and SECRET_NAME.search(key):
                    values[CUSTOM + key.strip()] = value
            shared, folder = _folders(row.get("folders"))
            kind = _text(row.get("$type"))
            entry = Entry(
                id=stable_id(row["uid"]), title=_text(row.get("title")), username=_text(row.get("login")),
                url=_text(row.get("login_url")), notes=_text(row.get("notes")), kind=kind or "login",
                folder=folder, organization=shared, login=kind in LOGIN_TYPES, position=where,
            )
            yield Record(entry, values)


def _folders(value: Any) -> tuple[str, str]:
    """(shared folder, folder path) of a record's first folder placement."""
    for place in value if isinstance(value, list) else []:
        if isinstance(place, dict):
            shared = _text(place.get("shared_folder")).strip("/\\")
            folder = _text(place.get("folder")).replace("\\", "/").strip("/")
            return shared, "/".join(p for p in (shared, folder) if p)
    return "", ""
