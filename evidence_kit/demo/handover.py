"""The demo's handover flow: from the MSP's password vault to the new provider's acknowledgment.

1. :func:`write_export` writes a small Bitwarden-style JSON export of the demo targets'
   credentials, age-encrypted at once (a plaintext export never sits on disk);
2. :func:`import_inventory` runs ``import`` on it (evidence_kit/importers): an inventory of
   ``bitwarden:ID/FIELD`` references, never values, to which the technician adds the client's
   written authorization and key, as they would by hand;
3. (capture and seal happen in evidence_kit/demo/__init__.py)
4. :func:`hand_over` hands the case over to a demo new provider's OpenSSH key, checks the
   credential package against the evidence with that key, and acknowledges the transmittal
   with it (an SSHSIG, as ``ssh-keygen -Y sign`` makes).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CLIENT = "Contoso Ltd (demo)"
NEW_PROVIDER = "New Provider (demo)"
NETWORK_FOLDER = f"{CLIENT}/Network/Cisco"  # the built-in import rules map "Cisco" to cisco_ios
WEB_FOLDER = f"{CLIENT}/Web portals"
EXPORT = "bitwarden-export.json.age"
RULES = """\
# The demo's own import rule (built-in rules know no demo portal): see docs/import.md.
rules:
  - {profile: demo_portal_web, title: '^demo-portal'}
"""

Echo = Callable[[str], None]


@dataclass(frozen=True)
class VaultItem:
    """One login of the demo vault."""

    name: str
    folder: str
    uri: str
    username: str
    password: str
    totp: str | None = None
    enable_secret: str | None = None


def write_export(path: Path, items: list[VaultItem], recipient: str) -> None:
    """A Bitwarden unencrypted JSON export (folders, login items, a hidden "Enable secret"
    field), encrypted to ``recipient`` before it is written."""
    from pyrage import encrypt, x25519

    folders = {name: str(uuid.uuid4()) for name in dict.fromkeys(i.folder for i in items)}
    doc: dict[str, Any] = {
        "encrypted": False,
        "folders": [{"id": fid, "name": name} for name, fid in folders.items()],
        "items": [{
            "id": str(uuid.uuid4()), "organizationId": None, "folderId": folders[i.folder], "type": 1,
            "reprompt": 0, "name": i.name, "notes": None, "favorite": False, "collectionIds": None,
            "fields": [{"name": "Enable secret", "value": i.enable_secret, "type": 1, "linkedId": None}]
            if i.enable_secret else [],
            "login": {"uris": [{"match": None, "uri": i.uri}], "username": i.username, "password": i.password,
                      "totp": i.totp, "fido2Credentials": []},
        } for i in items],
    }
    plain = json.dumps(doc, indent=2).encode()
    path.write_bytes(encrypt(plain, [x25519.Recipient.from_str(recipient)]))


def import_inventory(folder: Path, export: Path, identity: Path, client_recipient: str, authorization: str,
                     web: bool, echo: Echo) -> Path:
    """``evidence-kit import`` of the export, then the two lines a technician adds by hand."""
    from evidence_kit.importers.run import ImportOptions, run_import
    from evidence_kit.profiles import ProfileRegistry

    rules = None
    if web:
        rules = folder / "import-rules.yaml"
        rules.write_text(RULES, encoding="utf-8")
    inventory = folder / "inventory.yaml"
    result = run_import(ImportOptions(source=export, output=inventory, client=CLIENT, rules=rules, identity=identity,
                                      provider="Example MSP (demo)", technician="Demo Technician"),
                        ProfileRegistry())
    mapped = ", ".join(f"{n} {p}" for p, n in sorted(result.mapped.items()))
    echo(f"imported {result.read} entries of {export.name} ({result.label}) into {inventory.name} "
         f"({mapped}); secrets are references into the export, never values")
    lines = inventory.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index("case:\n") + 1
    lines[at:at] = [f"  authorization: {authorization}\n", f"  recipients: [{client_recipient}]\n"]
    inventory.write_text("".join(lines), encoding="utf-8")
    return inventory


def new_provider_key(folder: Path) -> tuple[Path, str]:
    """An OpenSSH ed25519 key pair for the demo new provider (what ``ssh-keygen -t ed25519`` makes)."""
    folder.mkdir(parents=True)
    key = Ed25519PrivateKey.generate()
    private = folder / "id_ed25519"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    line = public.decode() + " noc@newprovider.example"
    private.with_suffix(".pub").write_text(line + "\n", encoding="utf-8")
    return private, line


@dataclass
class HandedOver:
    folder: Path
    ok: bool = False  # every delivered credential checked against the evidence, and acknowledged
    notes: list[str] = field(default_factory=list)


def hand_over(folder: Path, case: Path, inventory: Path, sign_key: Path, tsa_urls: list[str], roots: list[Any],
              pdf: bool, echo: Echo) -> HandedOver:
    from evidence_kit.handover import ack, transmittal
    from evidence_kit.handover.check import verify_handover
    from evidence_kit.handover.credentials import SourceOptions
    from evidence_kit.handover.run import HandoverOptions, handover
    from evidence_kit.seal import keys
    from evidence_kit.seal.verify import VerifyOptions

    key, public = new_provider_key(folder / "new-provider")
    out = folder / "handover"
    result = handover(HandoverOptions(
        case_dir=case, output=out, sign_key=sign_key, to=[(NEW_PROVIDER, public)], tsa_urls=tsa_urls,
        tsa_roots=roots, source=SourceOptions(inventory=inventory), pdf=pdf,
    ))
    done = HandedOver(out)
    echo(f"handed over to {NEW_PROVIDER} (and the client) in {out}: {len(result.credentials)} credentials in "
         f"{result.file('credential package').name} (KDBX 4 inside age), the sealed evidence, transmittal.json "
         f"signed{' and time-stamped' if result.timestamps else ''}, the letter as "
         + " and ".join(f.name for f in result.files if f.role == "letter"))
    archive = out / result.file("evidence").name
    package = out / result.file("credential package").name
    checked = verify_handover(VerifyOptions(archive=archive, identities=keys.load_identities(key),
                                            trust_key=keys.load_public_key(sign_key), tsa_roots=roots), package)
    for c in checked.checks:
        if c.name.startswith("credential ") or c.name in ("package", "transmittal"):
            echo(f"  {c.status.value:<11} {c.name}: {c.detail}")
    made = ack.acknowledge(out / transmittal.NAME, key, tsa_urls=tsa_urls, roots=roots)
    listed = ack.check_all(transmittal.check(out / transmittal.NAME, roots or None), roots or None)
    for one in listed:
        echo(f"  {'passed' if one.ok else 'failed':<11} acknowledgment: {one.detail}")
    echo(f"acknowledged by {made.name}; anyone checks it in {made.files[0].parent} with:")
    for command in made.check_commands:
        echo(f"  $ {command}")
    done.ok = checked.ok and bool(listed) and all(a.ok for a in listed)
    return done
