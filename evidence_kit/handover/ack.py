"""``evidence-kit acknowledge``: a recipient countersigns the transmittal; verify lists who did.

An acknowledgment is a small JSON statement (who, when, which transmittal by its SHA-256,
which items, an optional remark) and a signature over its exact bytes, in
``acknowledgments/`` beside the transmittal:

* with an OpenSSH private key (ed25519 or RSA): ``NAME-FPR.json.sig`` is an armoured SSHSIG in
  namespace :data:`NAMESPACE`, byte for byte what ``ssh-keygen -Y sign -n evidence-kit-acknowledgment``
  makes, so a recipient may sign with nothing but OpenSSH, and anyone checks it with ``ssh-keygen
  -Y verify -f allowed_signers -I NAME -n evidence-kit-acknowledgment -s NAME-FPR.json.sig < NAME-FPR.json``;
* with an Ed25519 PEM key: the raw 64-byte signature, the public key beside as
  ``NAME-FPR.public.pem``, checked with ``openssl pkeyutl -verify -rawin``;
* with nothing but OpenSSH (no evidence-kit at hand): ``ssh-keygen -Y sign -f KEY -n
  evidence-kit-acknowledgment < transmittal.json > acknowledgments/NAME.sshsig`` signs the
  transmittal itself; it carries no statement (the name is the file's, the time unknown), and
  is listed as such.

Before signing, the provider's signature on the transmittal (and its time-stamps) must verify:
nobody acknowledges a transmittal that was changed. ``--tsa`` time-stamps the signature file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence_kit.case.session import slug
from evidence_kit.errors import CheckFailed, KeyFileError, UsageError
from evidence_kit.handover import sshsig, transmittal
from evidence_kit.seal import keys, sign
from evidence_kit.seal.seal import TimestampFailed
from evidence_kit.seal.timestamp import TimestampProblem, check_response
from evidence_kit.seal.timestamp import request as tsa_request

NAMESPACE = "evidence-kit-acknowledgment"
FORMAT = "evidence-kit-acknowledgment/1"
FOLDER = "acknowledgments"


@dataclass(frozen=True)
class AckKey:
    kind: str  # "sshsig" (OpenSSH key) or "ed25519" (PEM key, raw signature)
    private: Any
    public: str  # "ssh-ed25519 AAAA..." or a PEM
    fingerprint: str


def load_key(path: Path) -> AckKey:
    """An OpenSSH private key (ed25519, rsa) signs SSHSIG; an Ed25519 PEM/DER key signs raw."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key ({exc.strerror or exc.__class__.__name__})")
    if b"OPENSSH PRIVATE KEY" not in raw:
        key = keys.load_signing_key(path)
        return AckKey("ed25519", key, keys.public_pem(key.public_key()).decode(), keys.fingerprint(key.public_key()))
    try:
        ssh_key: Any = serialization.load_ssh_private_key(raw, password=None)
    except TypeError:
        raise KeyFileError(f"{path}: the key is passphrase-protected; sign with ssh-keygen -Y sign (docs/handover.md) "
                           "or give an unencrypted copy")
    except (ValueError, Exception) as exc:
        raise KeyFileError(f"{path}: not a readable OpenSSH private key ({exc.__class__.__name__})")
    if not isinstance(ssh_key, Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise KeyFileError(f"{path}: an ssh-ed25519 or ssh-rsa key is needed, not {type(ssh_key).__name__}")
    public = sshsig.public_line(ssh_key.public_key())
    return AckKey("sshsig", ssh_key, public, sshsig.fingerprint(sshsig.public_blob(ssh_key.public_key())))


@dataclass
class AckResult:
    name: str
    transmittal_id: str
    transmittal_sha256: str
    key_kind: str
    key_fingerprint: str
    files: list[Path]
    check_commands: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "files": [str(p) for p in self.files]}


def _transmittal_path(path: Path) -> Path:
    path = Path(path)
    return path / transmittal.NAME if path.is_dir() else path


def _default_name(key: AckKey, body: dict[str, Any]) -> str | None:
    """The recipient whose SSH key signs, if the handover was encrypted to it."""
    if key.kind != "sshsig":
        return None
    mine = " ".join(key.public.split()[:2])
    return next((str(r["name"]) for r in body.get("recipients", []) if r.get("recipient") == mine), None)


def acknowledge(transmittal_file: Path, sign_key: Path, name: str | None = None, remark: str | None = None,
                tsa_urls: list[str] | None = None, roots: list[x509.Certificate] | None = None,
                out_dir: Path | None = None) -> AckResult:
    path = _transmittal_path(transmittal_file)
    if not path.is_file():
        raise UsageError(f"{path}: no such transmittal")
    try:
        checked = transmittal.check(path, roots or None)
    except transmittal.TransmittalProblem as exc:
        raise CheckFailed(f"{path}: will not acknowledge it: {exc}")
    key = load_key(sign_key)
    body = checked.body
    name = name or _default_name(key, body)
    if not name:
        raise UsageError("--name NAME is needed: who acknowledges (this key is not one the handover was encrypted to)")
    items = [str(i.get("target")) for i in body.get("items", [])]
    case = body.get("case") or {}
    statement = {
        "format": FORMAT,
        "transmittal": {"file": path.name, "sha256": checked.sha256, "transmittal_id": body.get("transmittal_id"),
                        "case_id": case.get("case_id"), "signer_fingerprint": checked.signer_fingerprint,
                        "evidence_sha256": (body.get("evidence") or {}).get("sha256"),
                        "credential_package_sha256": (body.get("credential_package") or {}).get("sha256")},
        "acknowledged_by": {"name": name, "key": key.public, "key_fingerprint": key.fingerprint,
                            "signature": key.kind, **({"namespace": NAMESPACE} if key.kind == "sshsig" else {})},
        "acknowledged_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "statement": f"{name} acknowledges receipt of the {len(items)} item(s) listed in transmittal "
                     f"{body.get('transmittal_id')} (SHA-256 {checked.sha256}) from "
                     f"{case.get('provider')} for {case.get('client')}, "
                     "with the sealed evidence archive and the credential package it names.",
        "items": items,
        "remark": remark or "",
    }
    data = json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
    signature = (sshsig.sign(key.private, data, NAMESPACE).encode() if key.kind == "sshsig"
                 else sign.sign(key.private, data))
    folder = Path(out_dir) if out_dir else path.parent / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{slug(name)}-{key.fingerprint.split(':', 1)[1][:8].replace('/', '_').replace('+', '-')}"
    outputs: dict[str, bytes] = {f"{base}.json": data, f"{base}.json.sig": signature}
    if key.kind == "ed25519":
        outputs[f"{base}.public.pem"] = key.public.encode()
    for index, url in enumerate(tsa_urls or [], start=1):
        try:
            der, _ = tsa_request(url, signature, roots=roots or None)
        except TimestampProblem as exc:
            raise TimestampFailed(f"time-stamp from {url}: {exc}; nothing was written")
        outputs[f"{base}.json.sig.tsr" if index == 1 else f"{base}.json.sig.{index}.tsr"] = der
    written = []
    for file_name, content in outputs.items():
        target = folder / file_name
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise UsageError(f"{target}: already exists; an acknowledgment is never overwritten")
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        written.append(target)
    return AckResult(name, str(body.get("transmittal_id")), checked.sha256, key.kind, key.fingerprint, written,
                     _commands(key, base, slug(name)))


def _commands(key: AckKey, base: str, principal: str) -> list[str]:
    if key.kind == "sshsig":
        return [f"echo '{principal} namespaces=\"{NAMESPACE}\" {key.public}' > allowed_signers",
                f"ssh-keygen -Y verify -f allowed_signers -I {principal} -n {NAMESPACE} -s {base}.json.sig "
                f"< {base}.json"]
    return [f"openssl pkeyutl -verify -pubin -inkey {base}.public.pem -rawin -in {base}.json -sigfile {base}.json.sig"]


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class AckCheck:
    file: str
    ok: bool
    detail: str
    name: str = ""
    key_fingerprint: str = ""


def check_all(checked: transmittal.CheckedTransmittal, roots: list[x509.Certificate] | None = None) -> list[AckCheck]:
    """Every acknowledgment in ``acknowledgments/`` beside the transmittal, checked."""
    folder = checked.path.parent / FOLDER
    if not folder.is_dir():
        return []
    statements = [check_one(p, checked, roots) for p in sorted(folder.glob("*.json"))]
    return statements + [check_plain(p, checked) for p in sorted(folder.glob("*.sshsig"))]


def check_plain(path: Path, checked: transmittal.CheckedTransmittal) -> AckCheck:
    """An OpenSSH-only acknowledgment: an SSHSIG over the transmittal's own bytes."""
    name = path.name.removesuffix(".sshsig")
    try:
        who = sshsig.verify(path.read_bytes(), checked.path.read_bytes(), NAMESPACE)
    except (OSError, sshsig.SshSigProblem) as exc:
        return AckCheck(path.name, False, f"{path.name}: does not verify over this transmittal ({exc})", name)
    return AckCheck(path.name, True, f"{name} ({who.key_type} {who.fingerprint}) signed this transmittal with "
                                     "ssh-keygen (no statement, no time of its own)", name, who.fingerprint)


def check_one(path: Path, checked: transmittal.CheckedTransmittal, roots: list[x509.Certificate] | None) -> AckCheck:
    try:
        data = path.read_bytes()
        statement = json.loads(data)
        by = statement["acknowledged_by"]
        name, public, fpr = str(by["name"]), str(by["key"]), str(by["key_fingerprint"])
        signature = path.with_name(path.name + ".sig").read_bytes()
        if statement.get("format") != FORMAT:
            raise ValueError("format")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return AckCheck(path.name, False, f"{path.name}: unreadable acknowledgment ({exc.__class__.__name__})")
    try:
        if sshsig.is_armoured(signature):
            who = sshsig.verify(signature, data, NAMESPACE)
            if who.public_line != " ".join(public.split()[:2]):
                return AckCheck(path.name, False, f"{path.name}: signed by {who.fingerprint}, not by the key it names",
                                name, fpr)
            fpr = who.fingerprint
        else:
            public_key = sign.load_signer(public.encode())
            sign.verify(public_key, data, signature)
            fpr = keys.fingerprint(public_key)
    except (sshsig.SshSigProblem, sign.SignatureProblem) as exc:
        return AckCheck(path.name, False, f"{path.name}: signature does not verify ({exc})", name, fpr)
    if (statement.get("transmittal") or {}).get("sha256") != checked.sha256:
        return AckCheck(path.name, False, f"{name} acknowledged another transmittal (or this one changed since)",
                        name, fpr)
    times = []
    for tsr in sorted(path.parent.glob(path.name + ".sig*.tsr")):
        try:
            info = check_response(tsr.read_bytes(), signature, roots=roots)
        except TimestampProblem as exc:
            return AckCheck(path.name, False, f"{tsr.name}: {exc}", name, fpr)
        times.append(info.gen_time)
    when = str(statement.get("acknowledged_at", ""))
    stamped = f", time-stamped {', '.join(times)}" if times else ""
    remark = f"; remark: {statement['remark']}" if statement.get("remark") else ""
    return AckCheck(path.name, True, f"{name} ({fpr}) acknowledged at {when}{stamped}: the signature verifies and "
                                     f"binds this transmittal{remark}", name, fpr)
