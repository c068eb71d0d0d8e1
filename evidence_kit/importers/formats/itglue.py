"""IT Glue's account export: ``passwords.csv`` (one row per password, any organization).

Columns (docs/import.md): id, organization, name, password_category, resource_type,
resource_id, username, password, url, notes, archived, otp_secret. The id is IT Glue's
password id, stable across exports; ``--client`` selects an organization.
"""

from __future__ import annotations

from evidence_kit.importers.formats.csvbase import CsvFormat, cell, secret_cell, truthy
from evidence_kit.importers.interface import PASSWORD, TOTP, Entry, Probe, Record, stable_id


class ItGlueCsv(CsvFormat):
    name = "itglue_csv"
    scheme = "itglue"
    label = "IT Glue passwords.csv"
    id_column = "id"
    client_means = "organization"
    required = ("id", "organization", "name", "username", "password", "url")
    optional = ("password_category", "resource_type", "resource_id", "notes", "archived", "otp_secret")
    signature = ("organization", "password_category", "resource_type", "resource_id", "otp_secret", "archived")

    def record(self, probe: Probe, line: int, row: dict[str, str]) -> Record:
        ident = cell(row, "id")
        if not ident:
            raise self.error(probe, "empty 'id' (IT Glue's password id is the stable reference)", f"line {line}")
        entry = Entry(
            id=stable_id(ident), title=cell(row, "name"), username=cell(row, "username"), url=cell(row, "url"),
            notes=row.get("notes", ""), category=cell(row, "password_category"), kind=cell(row, "resource_type"),
            organization=cell(row, "organization"), archived=truthy(cell(row, "archived")), position=f"line {line}",
        )
        return Record(entry, {PASSWORD: secret_cell(row, "password"), TOTP: cell(row, "otp_secret")})
