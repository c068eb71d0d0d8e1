"""KeePass databases (KDBX 3.1 and 4), read with pykeepass from memory.

Per entry (docs/import.md): uuid, group path, title, username, password, url, notes, the
``otp`` attribute (KeePassXC's ``otpauth://`` URI) or KeePass 2's ``TimeOtp-Secret-Base32``,
and protected custom strings (hidden fields). The id is the entry's UUID (with hyphens);
``--client`` selects a top-level group. Entries in the recycle bin are listed as archived.
The database's master password is itself a secret reference (``--source-password``), never a
value in the inventory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from evidence_kit.importers.interface import CUSTOM, PASSWORD, TOTP, Entry, Probe, Record, SourceFormat, stable_id

MAGIC = bytes.fromhex("03d9a29a67fb4bb5")
KEEPASS2_TOTP = "TimeOtp-Secret-Base32"
NOT_CUSTOM = {KEEPASS2_TOTP, "otp", "TimeOtp-Secret", "TimeOtp-Secret-Hex", "TimeOtp-Secret-Base64"}


class KeePassKdbx(SourceFormat):
    name = "keepass_kdbx"
    scheme = "kdbx"
    label = "KeePass database (KDBX)"
    container = "kdbx"
    id_column = "entry uuid"
    client_means = "top-level group"

    def missing(self, probe: Probe) -> tuple[str, ...] | None:
        return () if probe.container == "kdbx" else None

    def open(self, probe: Probe) -> Any:
        """The database, opened in memory (an age-encrypted KDBX never touches the disk in clear)."""
        from pykeepass import PyKeePass
        from pykeepass.exceptions import CredentialsError, HeaderChecksumError, PayloadChecksumError

        raw = probe.raw
        if raw.password is None and raw.keyfile is None:
            raise self.error(probe, "a KeePass database needs its master password (--source-password REF, "
                                    "e.g. env:NAME or prompt) or key file (--keyfile)")
        password = raw.password.reveal() if raw.password is not None else None
        if raw.keyfile is not None and not raw.keyfile.is_file():
            raise self.error(probe, f"key file not found: {raw.keyfile}")
        try:
            return PyKeePass(io.BytesIO(raw.data), password=password,
                             keyfile=str(raw.keyfile) if raw.keyfile is not None else None)
        except CredentialsError:
            raise self.error(probe, "wrong master password or key file for this KeePass database")
        except (HeaderChecksumError, PayloadChecksumError):
            raise self.error(probe, "corrupted KeePass database (checksum mismatch)")
        except Exception as exc:  # construct's parse errors and others: a broken file, in one line
            raise self.error(probe, f"cannot read the KeePass database ({exc.__class__.__name__})")

    def records(self, probe: Probe) -> Iterator[Record]:
        db = self.open(probe)
        bin_group = db.recyclebin_group
        bin_uuid = bin_group.uuid if bin_group is not None else None
        for index, e in enumerate(db.entries):
            groups = list(e.group.path) if e.group is not None else []
            in_bin = bin_uuid is not None and _inside(e.group, bin_uuid)
            totp = e.otp or e.get_custom_property(KEEPASS2_TOTP) or ""
            values = {PASSWORD: e.password or "", TOTP: totp.strip()}
            for key, value in (e.custom_properties or {}).items():
                if key not in NOT_CUSTOM and value and e.is_custom_property_protected(key):
                    values[CUSTOM + key] = value
            entry = Entry(
                id=stable_id(e.uuid), title=(e.title or "").strip(), username=(e.username or "").strip(),
                url=(e.url or "").strip(), notes=e.notes or "", category=", ".join(e.tags or []),
                folder="/".join(groups), archived=in_bin, position=f"entry {index + 1}",
            )
            yield Record(entry, values)


def _inside(group: Any, target: Any) -> bool:
    while group is not None:
        if group.uuid == target:
            return True
        group = group.parentgroup
    return False
