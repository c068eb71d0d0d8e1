"""Hudu: the asset passwords as the API lists them (``GET /api/v1/asset_passwords``).

A JSON document ``{"asset_passwords": [...]}`` (one page, or pages concatenated into one
list), each with id, company_id (and company_name in recent versions), name, username,
password, otp_secret, url, login_url, description, passwordable_type, password_folder_name
(docs/import.md). The id is Hudu's asset password id; ``--client`` selects a company by name
(``company N`` when the export has only company_id).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence_kit.importers.interface import PASSWORD, TOTP, Entry, Probe, Record, SourceFormat, stable_id


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip() if isinstance(value, (str, int)) else ""


class HuduJson(SourceFormat):
    name = "hudu_json"
    scheme = "hudu"
    label = "Hudu asset_passwords JSON"
    container = "json"
    id_column = "asset_passwords[].id"
    client_means = "company name"

    def missing(self, probe: Probe) -> tuple[str, ...] | None:
        doc = probe.doc
        if isinstance(doc, dict) and "asset_passwords" in doc:
            return ()
        return None

    def records(self, probe: Probe) -> Iterator[Record]:
        rows = probe.doc["asset_passwords"]
        if not isinstance(rows, list):
            raise self.error(probe, "'asset_passwords' is not a list", "asset_passwords")
        for index, row in enumerate(rows):
            where = f"asset_passwords[{index}]"
            if not isinstance(row, dict) or not _text(row.get("id")):
                raise self.error(probe, "an asset password without 'id' (Hudu's id is the stable reference)", where)
            company = _text(row.get("company_name")) or (f"company {_text(row.get('company_id'))}"
                                                         if _text(row.get("company_id")) else "")
            password = row.get("password")
            entry = Entry(
                id=stable_id(row["id"]), title=_text(row.get("name")), username=_text(row.get("username")),
                url=_text(row.get("url")) or _text(row.get("login_url")), notes=_text(row.get("description")),
                category=_text(row.get("password_type")), kind=_text(row.get("passwordable_type")),
                folder=_text(row.get("password_folder_name")).strip("/"), organization=company,
                archived=row.get("archived") is True, position=where,
            )
            yield Record(entry, {PASSWORD: password if isinstance(password, str) else "",
                                 TOTP: _text(row.get("otp_secret"))})
