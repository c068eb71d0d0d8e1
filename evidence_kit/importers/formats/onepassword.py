"""1Password's 1PUX export: a zip holding ``export.data`` (JSON) and ``export.attributes``.

``accounts[].vaults[]`` each with ``attrs.name`` and ``items[]``: uuid, categoryUuid, trashed /
state, ``overview`` (title, url, urls[], tags[]), ``details.loginFields[]`` (value,
designation ``username`` / ``password``), ``details.notesPlain`` and ``details.sections[]``
whose ``fields[]`` carry a typed ``value`` (``concealed``, ``string``, ``totp``, ``url``...)
(docs/import.md). Server, router and database items keep user name, password and URL in
section fields (ids ``username``, ``password``, ``url``). The id is the item uuid;
``--client`` selects a vault. Attachments (``files/``) are not read.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from evidence_kit.importers.interface import (
    CUSTOM,
    PASSWORD,
    TOTP,
    Entry,
    Probe,
    Record,
    SourceError,
    SourceFormat,
    secret_text,
    stable_id,
)

EXPORT_DATA = "export.data"
# 1Password's category uuids (the ones that hold credentials are logins for import).
CATEGORIES = {
    "001": "Login", "002": "Credit Card", "003": "Secure Note", "004": "Identity", "005": "Password",
    "006": "Document", "100": "Software License", "101": "Bank Account", "102": "Database",
    "103": "Driver License", "104": "Outdoor License", "105": "Membership", "106": "Passport",
    "107": "Rewards Program", "108": "Social Security Number", "109": "Wireless Router", "110": "Server",
    "111": "Email Account", "112": "API Credential", "113": "Medical Record", "114": "SSH Key",
}
LOGIN_CATEGORIES = {"001", "005", "102", "109", "110", "111", "112", "114"}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_export_data(probe: Probe) -> Any:
    """Open the zip and parse ``export.data``; every failure is one line naming the file."""
    file = probe.raw.file
    try:
        with zipfile.ZipFile(io.BytesIO(probe.raw.data)) as zf:
            if EXPORT_DATA not in zf.namelist():
                raise SourceError(file, f"a zip without {EXPORT_DATA}: not a 1Password 1PUX export")
            data = zf.read(EXPORT_DATA)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise SourceError(file, f"broken zip ({exc.__class__.__name__}: {exc})")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(file, f"{EXPORT_DATA} is not UTF-8 text")
    except json.JSONDecodeError as exc:
        raise SourceError(file, f"{EXPORT_DATA} is not valid JSON ({exc.msg})",
                          f"{EXPORT_DATA} line {exc.lineno}, column {exc.colno}")


class OnePassword1pux(SourceFormat):
    name = "onepassword_1pux"
    scheme = "onepassword"
    label = "1Password 1PUX export"
    container = "zip"
    id_column = "item uuid"
    client_means = "vault"

    def missing(self, probe: Probe) -> tuple[str, ...] | None:
        doc = probe.doc
        if isinstance(doc, dict) and "accounts" in doc:
            return ()
        return None if doc is None else ("accounts",)

    def records(self, probe: Probe) -> Iterator[Record]:
        accounts = probe.doc.get("accounts")
        if not isinstance(accounts, list):
            raise self.error(probe, "'accounts' is not a list", f"{EXPORT_DATA} accounts")
        for a, account in enumerate(accounts):
            for v, vault in enumerate(_list(account, "vaults")):
                vault_name = _text((vault.get("attrs") or {}).get("name"))
                for i, item in enumerate(_list(vault, "items")):
                    where = f"{EXPORT_DATA} accounts[{a}].vaults[{v}].items[{i}]"
                    if not _text(item.get("uuid")):
                        raise self.error(probe, "an item without 'uuid' (the stable reference)", where)
                    yield self._record(item, vault_name, where)

    def _record(self, item: dict[str, Any], vault: str, where: str) -> Record:
        overview = item.get("overview") if isinstance(item.get("overview"), dict) else {}
        details = item.get("details") if isinstance(item.get("details"), dict) else {}
        assert isinstance(overview, dict) and isinstance(details, dict)
        username = password = ""
        for f in details.get("loginFields") or []:
            if isinstance(f, dict) and f.get("designation") == "username" and not username:
                username = _text(f.get("value"))
            elif isinstance(f, dict) and f.get("designation") == "password" and not password:
                password = secret_text(f.get("value"))
        url = _text(overview.get("url")) or next(
            (_text(u.get("url")) for u in overview.get("urls") or [] if isinstance(u, dict) and _text(u.get("url"))),
            "")
        values: dict[str, str] = {PASSWORD: password, TOTP: ""}
        for section in details.get("sections") or []:
            for f in (section.get("fields") or []) if isinstance(section, dict) else []:
                if not isinstance(f, dict) or not isinstance(f.get("value"), dict):
                    continue
                vtype, value = next(iter(f["value"].items()), ("", None))
                fid, title = _text(f.get("id")), _text(f.get("title"))
                if vtype == "totp" and not values[TOTP]:
                    values[TOTP] = _text(value)
                elif vtype == "concealed" and isinstance(value, str):
                    if fid == "password" and not values[PASSWORD]:
                        values[PASSWORD] = value
                    elif title or fid:
                        values[CUSTOM + (title or fid)] = value
                elif fid == "username" and not username:
                    username = _text(value)
                elif (fid == "url" or vtype == "url") and not url:
                    url = _text(value)
        category = _text(item.get("categoryUuid"))
        tags = [t for t in overview.get("tags") or [] if isinstance(t, str)]
        entry = Entry(
            id=stable_id(item["uuid"]), title=_text(overview.get("title")), username=username, url=url,
            notes=secret_text(details.get("notesPlain")),
            category=", ".join(tags), kind=CATEGORIES.get(category, f"category {category}"),
            folder=tags[0] if tags else "", organization=vault,
            archived=bool(item.get("trashed")) or item.get("state") in ("archived", "deleted"),
            login=category in LOGIN_CATEGORIES, position=where,
        )
        return Record(entry, values)


def _list(parent: Any, key: str) -> list[dict[str, Any]]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
