"""Realistic sample exports of every import format, written by the tests with random secrets.

One list of logical credentials (:func:`specs`) is rendered in each tool's own layout (column
names, nesting, ids, TOTP forms as that tool stores them), so one set of expectations checks
every format. Nothing here is downloaded: the layouts follow docs/import.md.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyotp

from tests.helpers import random_password

CONTOSO = "Contoso Ltd"
FABRIKAM = "Fabrikam Inc"


@dataclass(frozen=True)
class Spec:
    """One credential as the MSP documented it, and the profile the import should map it to."""

    title: str
    url: str
    username: str
    expect: str | None  # profile, or None: left for review
    category: str = ""
    folder: str = "Network"
    client: str = CONTOSO
    password: str | None = field(default_factory=random_password)
    totp: str | None = None
    enable: str | None = None
    archived: bool = False
    login: bool = True

    @property
    def values(self) -> dict[str, str]:
        """Field -> value as the reference should resolve it (``fields/NAME`` for custom fields)."""
        out = {}
        if self.password:
            out["password"] = self.password
        if self.totp:
            out["totp"] = self.totp
        if self.enable:
            out["fields/Enable secret"] = self.enable
        return out

    @property
    def secret_values(self) -> list[str]:
        out = list(self.values.values())
        if self.totp and self.totp.startswith("otpauth://"):
            out.append(self.totp.rsplit("secret=", 1)[1].split("&")[0])
        return out


def seed() -> str:
    return pyotp.random_base32()


def specs() -> list[Spec]:
    return [
        Spec("Core router (Cisco 2960)", "ssh://10.0.0.1", "admin", "cisco_ios", "Network Device",
             enable=random_password("En")),
        Spec("pfSense firewall", "https://10.0.0.254", "admin", "pfsense_web", "Firewall"),
        Spec("GoDaddy", "https://www.godaddy.com/", "it@contoso.example", "godaddy_web", "Registrar",
             folder="Registrars", totp=seed()),
        Spec("Microsoft 365 global admin", "https://admin.microsoft.com/", "admin@contoso.onmicrosoft.com",
             "microsoft_365_web", "Cloud", folder="Cloud", totp=seed()),
        Spec("Domain Admin", "dc1.contoso.local", "administrator@contoso.local", "active_directory",
             "Active Directory", folder="Servers"),
        Spec("Web server web01", "ssh://web01.contoso.example:2222", "ops", "linux", "Server", folder="Servers"),
        Spec("MikroTik hAP", "10.0.0.3", "admin", "mikrotik_routeros", "Router"),
        Spec("FortiGate 60F", "https://10.0.0.253:4443", "admin", "fortigate_web", "Firewall"),
        Spec("Office printer", "https://10.0.0.9", "admin", None, "Printer", folder="Office"),
        Spec("Old switch", "10.0.0.2", "manager", None, "Switch"),
        Spec("Guest Wi-Fi note", "", "", None, "Note", folder="Office", password=None, login=False),
        Spec("Old firewall (pfSense)", "https://10.0.0.250", "admin", None, "Firewall", archived=True),
        Spec("Fabrikam router (Cisco)", "ssh://192.168.50.1", "admin", "cisco_ios", "Network Device",
             client=FABRIKAM),
    ]


@dataclass
class Sample:
    path: Path
    format: str
    specs: list[Spec]
    master: str | None = None  # KDBX master password (test secret too)

    @property
    def secrets(self) -> list[str]:
        out = [v for s in self.specs for v in s.secret_values]
        return out + ([self.master] if self.master else [])

    def chosen(self, client: str = CONTOSO) -> list[Spec]:
        return [s for s in self.specs if s.client == client]


def _otpauth(spec: Spec) -> str | None:
    return f"otpauth://totp/{spec.client.split()[0]}:{spec.username}?secret={spec.totp}&issuer=X" if spec.totp else None


# --- one writer per format ---------------------------------------------------------------------


def itglue_csv(folder: Path, items: list[Spec]) -> Sample:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["id", "organization", "name", "password_category", "resource_type", "resource_id", "username",
                "password", "url", "notes", "archived", "otp_secret"])
    for n, s in enumerate(items):
        w.writerow([4410900 + n, s.client, s.title, s.category, "Configuration" if s.category else "",
                    7000 + n, s.username, s.password or "", s.url, "Imported from the old wiki,\nsee ticket 42",
                    "Yes" if s.archived else "No", s.totp or ""])
    path = folder / "passwords.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return Sample(path, "itglue_csv", [_no_enable(s) for s in items])


def passportal_csv(folder: Path, items: list[Spec]) -> Sample:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["Passportal ID", "Client Name", "Credential", "Username", "Password", "Description", "Expires",
                "Notes", "URL", "Folder(Optional)", "TOTP Secret"])
    kept = [_no_enable(s) for s in items if not s.archived]
    for n, s in enumerate(kept):
        w.writerow([880100 + n, s.client, s.category or "General", s.username, s.password or "", s.title, "",
                    "", s.url, s.folder, s.totp or ""])
    path = folder / "passportal-export.csv"
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")  # Excel's byte-order mark
    return Sample(path, "passportal_csv", kept)


def hudu_json(folder: Path, items: list[Spec]) -> Sample:
    rows = []
    for n, s in enumerate(items):
        company = 3 if s.client == CONTOSO else 4
        rows.append({
            "id": 1200 + n, "company_id": company, "company_name": s.client, "name": s.title,
            "username": s.username, "password": s.password, "otp_secret": s.totp, "url": s.url,
            "login_url": None, "description": "", "passwordable_type": "Asset" if s.category else None,
            "passwordable_id": 90 + n, "password_folder_id": None, "password_folder_name": s.folder,
            "password_type": s.category, "archived": s.archived, "in_portal": False,
            "slug": f"pw-{n}", "created_at": "2025-01-01T10:00:00.000Z", "updated_at": "2025-06-01T10:00:00.000Z",
        })
    path = folder / "hudu-asset_passwords.json"
    path.write_text(json.dumps({"asset_passwords": rows}, indent=2))
    return Sample(path, "hudu_json", [_no_enable(s) for s in items])


def bitwarden_json(folder: Path, items: list[Spec]) -> Sample:
    org = str(uuid.uuid4())
    collections = {c: str(uuid.uuid4()) for c in dict.fromkeys(s.client for s in items)}
    out = []
    for s in items:
        item: dict[str, object] = {
            "passwordHistory": None, "revisionDate": "2025-06-01T10:00:00.000Z",
            "creationDate": "2025-01-01T10:00:00.000Z", "deletedDate": "2025-07-01T00:00:00.000Z" if s.archived
            else None, "id": str(uuid.uuid4()), "organizationId": org, "folderId": None,
            "type": 1 if s.login else 2, "reprompt": 0, "name": s.title, "notes": "n/a", "favorite": False,
            "fields": [{"name": "Model", "value": "hAP ac2", "type": 0, "linkedId": None}],
            "collectionIds": [collections[s.client]],
        }
        if s.enable:
            item["fields"] = [{"name": "Enable secret", "value": s.enable, "type": 1, "linkedId": None}]
        if s.login:
            item["login"] = {"fido2Credentials": [], "uris": [{"match": None, "uri": s.url}] if s.url else [],
                             "username": s.username or None, "password": s.password, "totp": s.totp}
        else:
            item["secureNote"] = {"type": 0}
        out.append(item)
    doc = {"encrypted": False,
           "collections": [{"id": cid, "organizationId": org, "name": name, "externalId": None}
                           for name, cid in collections.items()],
           "items": out}
    path = folder / "bitwarden_export.json"
    path.write_text(json.dumps(doc, indent=2))
    return Sample(path, "bitwarden_json", items)


def bitwarden_csv(folder: Path, items: list[Spec]) -> Sample:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["folder", "favorite", "type", "name", "notes", "fields", "reprompt", "login_uri", "login_username",
                "login_password", "login_totp"])
    kept = [s for s in items if not s.archived]
    for s in kept:
        fields = "Model: hAP ac2" + (f"\nEnable secret: {s.enable}" if s.enable else "")
        w.writerow([f"{s.client}/{s.folder}", "", "login" if s.login else "note", s.title, "", fields, 0, s.url,
                    s.username, s.password or "", s.totp or ""])
    path = folder / "bitwarden_export.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return Sample(path, "bitwarden_csv", kept)


def keepass_kdbx(folder: Path, items: list[Spec]) -> Sample:
    from pykeepass import create_database

    master = random_password("Kdbx")
    path = folder / "clients.kdbx"
    db = create_database(str(path), password=master)
    groups: dict[tuple[str, str], object] = {}
    for s in items:
        key = (s.client, s.folder)
        if key not in groups:
            top = db.find_groups(name=s.client, first=True) or db.add_group(db.root_group, s.client)
            groups[key] = db.add_group(top, s.folder)
        entry = db.add_entry(groups[key], s.title, s.username, s.password or "", url=s.url or None,
                             notes="rack 2")
        if s.totp:
            entry.otp = _otpauth(s)
        if s.enable:
            entry.set_custom_property("Enable secret", s.enable, protect=True)
        entry.set_custom_property("Model", "hAP ac2")
        if s.archived:
            db.trash_entry(entry)
    db.save()
    # A trashed entry sits in the recycle bin, a top-level group of its own: not under its client.
    kept = [replace(s, client="Recycle Bin") if s.archived else s for s in items]
    return Sample(path, "keepass_kdbx", [replace(s, totp=_otpauth(s)) if s.totp else s for s in kept], master)


def onepassword_1pux(folder: Path, items: list[Spec]) -> Sample:
    vaults: dict[str, list[dict[str, object]]] = {}
    for s in items:
        uid = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(26))
        sections: list[dict[str, object]] = []
        fields: list[dict[str, object]] = []
        if s.totp:
            fields.append({"title": "one-time password", "id": "TOTP_" + uid[:8], "value": {"totp": _otpauth(s)}})
        if s.enable:
            fields.append({"title": "Enable secret", "id": uid[:10], "value": {"concealed": s.enable}})
        server = s.title.startswith("Web server")
        login_fields: list[dict[str, object]] = []
        if server:  # a Server item: user name, password and URL live in section fields
            fields += [{"title": "URL", "id": "url", "value": {"string": s.url}},
                       {"title": "username", "id": "username", "value": {"string": s.username}},
                       {"title": "password", "id": "password", "value": {"concealed": s.password}}]
        elif s.login:
            login_fields = [
                {"value": s.username, "id": "", "name": "username", "fieldType": "T", "designation": "username"},
                {"value": s.password, "id": "", "name": "password", "fieldType": "P", "designation": "password"},
            ]
        if fields:
            sections.append({"title": "", "name": "Section_" + uid[:6], "fields": fields})
        vaults.setdefault(s.client, []).append({
            "uuid": uid, "favIndex": 0, "createdAt": 1735725600, "updatedAt": 1748772000,
            "trashed": s.archived, "state": "archived" if s.archived else "active",
            "categoryUuid": "110" if server else ("001" if s.login else "003"),
            "details": {"loginFields": login_fields, "notesPlain": "rack 2", "sections": sections,
                        "passwordHistory": []},
            "overview": {"subtitle": s.username, "title": s.title, "url": "" if server else s.url,
                         "urls": [] if server or not s.url else [{"label": "", "url": s.url}],
                         "ps": 100, "pbe": 86.2, "pgrng": True, "tags": [s.folder]},
        })
    data = {"accounts": [{"attrs": {"accountName": "Example MSP", "name": "Example MSP", "avatar": "",
                                    "email": "it@msp.example", "uuid": "ACCOUNTUUID", "domain": "https://x.1password.com/"},
                          "vaults": [{"attrs": {"uuid": f"vault{n}", "desc": "", "avatar": "", "name": name,
                                                "type": "U"}, "items": vault_items}
                                     for n, (name, vault_items) in enumerate(vaults.items())]}]}
    path = folder / "1PasswordExport.1pux"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export.attributes", json.dumps({"version": 3, "description": "1Password Unencrypted Export",
                                                     "createdAt": 1748772000}))
        zf.writestr("export.data", json.dumps(data))
    return Sample(path, "onepassword_1pux", [replace(s, totp=_otpauth(s)) if s.totp else s for s in items])


def keeper_json(folder: Path, items: list[Spec]) -> Sample:
    kept = [s for s in items if not s.archived]
    records = []
    for s in kept:
        custom: dict[str, str] = {"Model": "hAP ac2"}
        if s.totp:
            custom["$oneTimeCode"] = str(_otpauth(s))
        if s.enable:
            custom["Enable secret"] = s.enable
        records.append({
            "uid": secrets.token_urlsafe(16)[:22], "title": s.title, "$type": "login" if s.login else "encryptedNotes",
            "login": s.username, "password": s.password or "", "login_url": s.url, "notes": "rack 2",
            "custom_fields": custom, "folders": [{"shared_folder": s.client, "can_edit": True, "folder": s.folder}],
        })
    doc = {"shared_folders": [{"path": c, "manage_users": False} for c in dict.fromkeys(s.client for s in kept)],
           "records": records}
    path = folder / "keeper.json"
    path.write_text(json.dumps(doc, indent=2))
    return Sample(path, "keeper_json", [replace(s, totp=_otpauth(s)) if s.totp else s for s in kept])


def _no_enable(spec: Spec) -> Spec:
    """Formats without custom fields (IT Glue, Hudu, Passportal) carry no enable secret."""
    return replace(spec, enable=None)


WRITERS: dict[str, Callable[[Path, list[Spec]], Sample]] = {
    "itglue_csv": itglue_csv, "hudu_json": hudu_json, "passportal_csv": passportal_csv,
    "bitwarden_json": bitwarden_json, "bitwarden_csv": bitwarden_csv, "keepass_kdbx": keepass_kdbx,
    "onepassword_1pux": onepassword_1pux, "keeper_json": keeper_json,
}


def write(fmt: str, folder: Path, items: list[Spec] | None = None) -> Sample:
    folder.mkdir(parents=True, exist_ok=True)
    return WRITERS[fmt](folder, items if items is not None else specs())


def age_encrypt(path: Path, folder: Path) -> tuple[Path, Path]:
    """``path`` encrypted to a new age identity (the plaintext removed); returns (file, identity)."""
    import pyrage
    from pyrage import x25519

    identity = x25519.Identity.generate()
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "import-identity.txt"
    key.write_text(f"# test identity\n{identity}\n")
    key.chmod(0o600)
    out = path.with_name(path.name + ".age")
    out.write_bytes(pyrage.encrypt(path.read_bytes(), [identity.to_public()]))
    path.unlink()
    return out, key
