"""N-able Passportal's credential CSV export.

Columns (docs/import.md): Passportal ID, Client Name, Credential, Username, Password,
Description, Expires, Notes, URL, Folder(Optional), TOTP Secret. ``Credential`` is the
credential's type (it becomes the category), ``Description`` its name (the title; the type
when empty). The id is the Passportal ID; ``--client`` selects a Client Name.
"""

from __future__ import annotations

from evidence_kit.importers.formats.csvbase import CsvFormat, cell, secret_cell
from evidence_kit.importers.interface import PASSWORD, TOTP, Entry, Probe, Record, stable_id


class PassportalCsv(CsvFormat):
    name = "passportal_csv"
    scheme = "passportal"
    label = "N-able Passportal CSV export"
    id_column = "Passportal ID"
    client_means = "Client Name"
    required = ("Passportal ID", "Client Name", "Credential", "Username", "Password")
    optional = ("Description", "Expires", "Notes", "URL", "Folder(Optional)", "TOTP Secret")
    signature = ("Passportal ID", "Client Name", "Credential", "Folder(Optional)", "TOTP Secret", "Expires")

    def record(self, probe: Probe, line: int, row: dict[str, str]) -> Record:
        ident = cell(row, "Passportal ID")
        if not ident:
            raise self.error(probe, "empty 'Passportal ID' (the stable reference)", f"line {line}")
        kind = cell(row, "Credential")
        entry = Entry(
            id=stable_id(ident), title=cell(row, "Description") or kind, username=cell(row, "Username"),
            url=cell(row, "URL"), notes=row.get("notes", ""), category=kind,
            folder=cell(row, "Folder(Optional)").strip("/"), organization=cell(row, "Client Name"),
            position=f"line {line}",
        )
        return Record(entry, {PASSWORD: secret_cell(row, "Password"), TOTP: cell(row, "TOTP Secret")})
