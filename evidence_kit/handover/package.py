"""The credential package: a KeePass KDBX 4 file and its passphrase, together inside one age file.

Why this shape: KDBX is what password managers import (KeePassXC, KeePass, Bitwarden,
1Password all read it), and age is what the evidence already uses, encrypted to the client and
the authorized recipients; a recipient needs nothing of ours to open it::

    age -d -i identity.txt CASE-credentials.age | tar -x -C work/
    keepassxc-cli ls -q work/CASE-credentials/credentials.kdbx < work/CASE-credentials/passphrase.txt

Inside the age file, a tar (the same pax writer as the evidence archive) of one folder:
``credentials.kdbx`` (protected by a generated passphrase), ``passphrase.txt`` (that passphrase,
one line) and ``README.txt``. One entry per target: title = target name, user name, password,
URL (or host:port), TOTP as an ``otpauth://`` URI, every other secret (enable secret, key
passphrase, ``secrets:``) as a protected field named after it, notes with the profile, the
outcome at handover, the evidence archive's hash and each credential's commitment, and the same
facts as ``evidence-kit.*`` fields, which ``verify --against-package`` reads back.
"""

from __future__ import annotations

import io
import secrets as _secrets
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from evidence_kit.errors import ArchiveError, KeyFileError
from evidence_kit.handover.model import Credential
from evidence_kit.seal import archive, encrypt
from evidence_kit.seal.age.format import AgeFormatError, AgeNoMatch

KDBX_NAME = "credentials.kdbx"
PASSPHRASE_NAME = "passphrase.txt"  # noqa: S105 - a file name
README_NAME = "README.txt"
PREFIX = "evidence-kit."
RESERVED = {"title", "username", "password", "url", "tags", "iconid", "times", "history", "notes", "otp"}
MAX_PACKAGE = 256 * 1024 * 1024  # far above any credential package; a bigger "package" is refused


def folder_name(case_id: str) -> str:
    return f"{case_id}-credentials"


def field_attribute(field_name: str) -> str:
    """The KDBX field a secret other than password/totp lives in (its own name when it can be)."""
    if field_name.lower() in RESERVED or field_name.startswith(PREFIX):
        return f"secret.{field_name}"
    return field_name


def new_passphrase() -> str:
    """32 characters from the URL-safe alphabet (192 bits): typed by a person if need be."""
    return _secrets.token_urlsafe(24)


def otp_uri(seed: str, target: str, username: str | None) -> str:
    """``otpauth://totp/...`` for a seed; a value that already is such a URI stays as it is.

    The seed goes into the URI exactly as tested (percent-encoded), so reading it back gives the
    value the commitment was made over."""
    if seed.startswith("otpauth://"):
        return seed
    label = quote(f"{target}:{username}" if username else target, safe="")
    return f"otpauth://totp/{label}?secret={quote(seed, safe='')}&issuer={quote(target, safe='')}"


def seed_of(uri: str, form: str) -> str:
    if form == "uri":
        return uri
    values = parse_qs(urlparse(uri).query, keep_blank_values=True).get("secret") or [""]
    return values[0]


@dataclass(frozen=True)
class PackageContext:
    """Facts written into every entry's notes."""

    case_id: str
    client: str
    archive_name: str
    archive_sha256: str
    scheme: str


def _notes(cred: Credential, ctx: PackageContext) -> str:
    lines = [
        f"evidence-kit credential handover, case {ctx.case_id} (client {ctx.client})",
        f"target: {cred.target}; profile: {cred.profile} ({cred.kind}); address: {cred.address}",
        f"outcome at handover: {cred.outcome or 'never captured'}"
        + (f" (tested {cred.tested_at}, run {cred.run})" if cred.tested_at else ""),
        f"evidence archive: {ctx.archive_name} sha256 {ctx.archive_sha256}",
        f"credential commitments ({ctx.scheme}; parameters in the evidence's case.json):",
        *[f"  {c.field}: {c.commitment or 'none (never tested)'}" for c in cred.checks if c.delivered],
        "delivered equals tested: " + ("yes" if cred.matches else
                                       "NO - " + "; ".join(cred.problems()) + " (delivered with --include-unmatched)"),
    ]
    return "\n".join(lines) + "\n"


def build_kdbx(credentials: list[Credential], passphrase: str, ctx: PackageContext) -> bytes:
    """The KDBX 4 database (AES-256, Argon2d: pykeepass's KeePassXC-like defaults) as bytes."""
    from pykeepass import PyKeePass
    from pykeepass.pykeepass import BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD

    # What create_database() does, without its first save: each save and open runs Argon2
    # (about 0.8 s here), and the database is saved once, below, to memory.
    kp = PyKeePass(BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD)
    kp.password = passphrase
    for cred in credentials:
        password = cred.secrets.get("password")
        entry = kp.add_entry(kp.root_group, cred.target, cred.username or "",
                             password.reveal() if password else "", url=cred.url or cred.address or None,
                             notes=_notes(cred, ctx), tags=["evidence-kit", cred.kind], force_creation=True)
        totp = cred.secrets.get("totp")
        if totp is not None:
            entry.otp = otp_uri(totp.reveal(), cred.target, cred.username)
            entry.set_custom_property(PREFIX + "totp-form", "uri" if totp.reveal().startswith("otpauth://")
                                      else "seed")
        for name, secret in cred.secrets.items():
            if name not in ("password", "totp"):
                entry.set_custom_property(field_attribute(name), secret.reveal(), protect=True)
        facts = {
            "target": cred.target, "profile": cred.profile, "kind": cred.kind, "address": cred.address,
            "outcome": cred.outcome or "never captured", "tested-at": cred.tested_at or "",
            "archive-sha256": ctx.archive_sha256, "case-id": ctx.case_id, "fields": ",".join(cred.secrets),
            "delivered-equals-tested": "yes" if cred.matches else "NO",
        }
        for key, value in facts.items():
            entry.set_custom_property(PREFIX + key, value)
        for name, commitment in cred.commitments().items():
            entry.set_custom_property(f"{PREFIX}commitment.{name}", commitment)
    out = io.BytesIO()
    kp.save(out)
    return out.getvalue()


README = """\
Credential package of evidence-kit case {case_id} (client {client}).

credentials.kdbx is a KeePass (KDBX 4) database; passphrase.txt holds its passphrase. Open it
with KeePassXC, KeePass or any password manager that imports KDBX, or on the command line:

  keepassxc-cli ls -q credentials.kdbx < passphrase.txt
  keepassxc-cli show -q -s credentials.kdbx TARGET < passphrase.txt

Each entry's notes name the outcome at handover and the commitment recorded in the sealed
evidence ({archive_name}, sha256 {archive_sha256}); `evidence-kit verify ARCHIVE
--against-package THIS-FILE.age` shows that each delivered credential is the one tested.
Keep this folder encrypted: delete the unpacked copy once the credentials are imported.
"""


def tar_blocks(case_id: str, files: dict[str, bytes]) -> Iterator[bytes]:
    now = int(time.time())
    root = folder_name(case_id)
    yield archive.dir_member(root, now)
    for name, data in files.items():
        yield from archive.bytes_member(f"{root}/{name}", data, now)
    yield archive.end_of_archive()


def write_package(path: Path, credentials: list[Credential], ctx: PackageContext,
                  recipients: tuple[list[Any], list[str]]) -> None:
    """Write the age file at ``path`` (a new file), encrypted to every recipient given."""
    passphrase = new_passphrase()
    files = {
        KDBX_NAME: build_kdbx(credentials, passphrase, ctx),
        PASSPHRASE_NAME: passphrase.encode() + b"\n",
        README_NAME: README.format(**ctx.__dict__).encode(),
    }
    objs, texts = recipients
    with open(path, "xb") as out:
        encrypt.encrypt_stream(tar_blocks(ctx.case_id, files), out, objs, None, recipient_texts=texts)


# --------------------------------------------------------------------------- reading back


@dataclass
class DeliveredEntry:
    """One entry of a package, read back: the values stay here, in memory, never printed."""

    target: str
    values: dict[str, str] = field(repr=False)
    recorded_commitments: dict[str, str]
    facts: dict[str, str]


@dataclass
class OpenedPackage:
    folder: str
    entries: list[DeliveredEntry]


def open_package(path: Path, identities: list[Any]) -> OpenedPackage:
    """Decrypt ``path`` in memory, open its KDBX with the passphrase inside, read every entry."""
    try:
        dec = encrypt.open_decryption(path, identities)
    except AgeNoMatch as exc:
        raise KeyFileError(f"{path}: this identity cannot open the credential package ({exc})")
    except AgeFormatError as exc:
        raise ArchiveError(f"{path}: not a readable age file ({exc})")
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot be read ({exc.strerror or exc})")
    try:
        plain = dec.reader.read(MAX_PACKAGE + 1)
        if len(plain) > MAX_PACKAGE:
            raise ArchiveError(f"{path}: larger than any credential package ({MAX_PACKAGE} bytes)")
        dec.finish()
    except AgeFormatError as exc:
        raise ArchiveError(f"{path}: damaged ({exc})")
    finally:
        dec.close()
    members = _members(path, plain)
    folder = next(iter(members))[0]
    try:
        passphrase = members[(folder, PASSPHRASE_NAME)].decode("utf-8").splitlines()[0]
        kdbx = members[(folder, KDBX_NAME)]
    except (KeyError, IndexError, UnicodeDecodeError):
        raise ArchiveError(f"{path}: not a credential package ({KDBX_NAME} and {PASSPHRASE_NAME} expected)")
    return OpenedPackage(folder, _entries(path, kdbx, passphrase))


def _members(path: Path, plain: bytes) -> dict[tuple[str, str], bytes]:
    out: dict[tuple[str, str], bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 2:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        out[(parts[0], parts[1])] = handle.read()
    except tarfile.TarError as exc:
        raise ArchiveError(f"{path}: the decrypted package is not a tar ({exc})")
    if not out:
        raise ArchiveError(f"{path}: the package holds no files")
    return out


def _entries(path: Path, kdbx: bytes, passphrase: str) -> list[DeliveredEntry]:
    from pykeepass import PyKeePass

    try:
        kp = PyKeePass(io.BytesIO(kdbx), password=passphrase)
    except Exception as exc:  # pykeepass raises its own, construct's or lxml's errors
        raise ArchiveError(f"{path}: {KDBX_NAME} does not open with the passphrase beside it "
                           f"({exc.__class__.__name__})")
    entries = []
    for entry in kp.entries or []:
        props = {k: str(v) for k, v in (entry.custom_properties or {}).items()}
        target = props.get(PREFIX + "target")
        if not target:
            continue
        values: dict[str, str] = {}
        for name in filter(None, props.get(PREFIX + "fields", "").split(",")):
            if name == "password":
                values[name] = str(entry.password or "")
            elif name == "totp":
                values[name] = seed_of(str(entry.otp or ""), props.get(PREFIX + "totp-form", "seed"))
            else:
                values[name] = props.get(field_attribute(name), "")
        recorded = {k.removeprefix(PREFIX + "commitment."): v for k, v in props.items()
                    if k.startswith(PREFIX + "commitment.")}
        facts = {k.removeprefix(PREFIX): v for k, v in props.items()
                 if k.startswith(PREFIX) and not k.startswith(PREFIX + "commitment.")}
        entries.append(DeliveredEntry(target, values, recorded, facts))
    return entries
