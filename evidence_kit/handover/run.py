"""``evidence-kit handover``: seal, package the credentials, sign the transmittal, journal, mail.

Everything that can be refused is refused before anything is made: the output folder, the
client's written authorization (none: no handover), the recipients (the client is always one,
everyone is named), the signing key, the browser for the PDF, the mail settings and their
password reference, and every credential that is not the one tested. The folder is then built
under a hidden name beside ``-o DIR`` and renamed into place whole, so a failure or an interrupt
leaves no half handover; only then is it journaled (docs/handover.md says what goes where).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from evidence_kit import __version__
from evidence_kit.case.artifacts import sha256_file
from evidence_kit.case.case import load_case_info
from evidence_kit.case.commitments import describe_derivation
from evidence_kit.errors import CaseError, EvidenceKitError, UsageError
from evidence_kit.handover import letter, mail, package, record, transmittal
from evidence_kit.handover.credentials import SourceOptions, load_credentials, refusal
from evidence_kit.handover.evidence import Evidence, read_evidence
from evidence_kit.handover.model import AUTHORIZED, CLIENT, Credential, HandoverResult, NamedRecipient, OutputFile
from evidence_kit.seal import keys
from evidence_kit.seal.model import SealResult
from evidence_kit.seal.seal import SealOptions, seal
from evidence_kit.secrets import SecretResolver


@dataclass
class HandoverOptions:
    case_dir: Path
    output: Path
    sign_key: Path
    to: list[tuple[str, str]]  # (name, recipient or a file of recipients)
    tsa_urls: list[str] = field(default_factory=list)
    tsa_roots: list[x509.Certificate] = field(default_factory=list)
    source: SourceOptions = field(default_factory=SourceOptions)
    include_unmatched: bool = False
    client_recipients: list[str] = field(default_factory=list)  # only for a case that lists none
    pdf: bool = True
    paper: str = "A4"
    browser: str | None = None
    mail: mail.MailOptions | None = None
    tsa_timeout: float = 30.0


def parse_to(values: list[str]) -> list[tuple[str, str]]:
    """``NAME=RECIPIENT`` pairs; every recipient is named."""
    out = []
    for value in values:
        name, sep, recipient = value.partition("=")
        if not sep or not name.strip() or not recipient.strip():
            raise UsageError(f"--to {value[:40]!r}: give NAME=RECIPIENT (every recipient is named, e.g. "
                             "'New Provider=age1...')")
        out.append((name.strip(), recipient.strip()))
    return out


def _utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def _check_output(output: Path) -> None:
    if output.exists() and (not output.is_dir() or output.is_symlink() or any(output.iterdir())):
        raise UsageError(f"{output}: exists and is not an empty folder; a handover is written into a new folder")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: output folder's parent does not exist")


def _authorization(case_dir: Path, info: dict[str, Any]) -> dict[str, Any]:
    auth = info.get("authorization")
    if not isinstance(auth, dict) or not auth.get("path"):
        raise UsageError(f"{case_dir}: the case holds no written authorization from the client (inventory "
                         "case.authorization); a handover to anyone needs it")
    path = case_dir / str(auth["path"])
    try:
        digest = sha256_file(path)[0]
    except OSError:
        raise CaseError(f"{path}: the client's authorization named by case.json is missing")
    if digest != auth.get("sha256"):
        raise CaseError(f"{path}: the client's authorization does not match the hash case.json recorded")
    return auth


def _recipients(info: dict[str, Any], options: HandoverOptions) -> list[NamedRecipient]:
    client = str(info.get("client") or "the client")
    client_values = [str(r) for r in info.get("recipients") or []] or list(options.client_recipients)
    if not client_values:
        raise UsageError("the case lists no recipient for the client (inventory case.recipients); the client is "
                         "always a recipient: give --client-recipient R")
    named = [NamedRecipient.of(client, CLIENT, t) for t in keys.load_recipients(client_values)[1]]
    if not options.to:
        raise UsageError("give --to NAME=RECIPIENT for whoever receives the handover besides the client")
    for name, value in options.to:
        named += [NamedRecipient.of(name, AUTHORIZED, t) for t in keys.load_recipients([value])[1]]
    return named


def _file(folder: Path, name: str, role: str) -> OutputFile:
    data = (folder / name).read_bytes()
    return OutputFile(name, role, hashlib.sha256(data).hexdigest(), len(data))


def _named(f: OutputFile) -> dict[str, Any]:
    return {"file": f.name, "size": f.size, "sha256": f.sha256}


def _sync(folder: Path) -> None:
    for path in folder.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def handover(options: HandoverOptions) -> HandoverResult:
    """Hand the case over into ``options.output``; see the module docstring for the order."""
    case_dir, output = Path(options.case_dir), Path(options.output)
    _check_output(output)
    info = load_case_info(case_dir)
    auth = _authorization(case_dir, info)
    named = _recipients(info, options)
    signing_key = keys.load_signing_key(options.sign_key)
    if options.pdf:
        from evidence_kit.browser import find_browser

        find_browser(options.browser)  # no browser: refused now, not after sealing
    smtp = None
    if options.mail is not None:
        options.mail.check()
        resolver = SecretResolver(prompt=options.source.prompt, environ=options.source.environ)
        smtp = mail.settings(options.mail, resolver)
    with record.hold(case_dir) as held:
        evidence = read_evidence(case_dir, info)
        credentials, inventory = load_credentials(case_dir, evidence, options.source)
        # A key-file login names no secret reference: nothing of it can go into the package.
        keyless = [c.target for c in credentials if not c.checks]
        credentials = [c for c in credentials if c.checks]
        if not credentials:
            raise UsageError(f"{inventory.path}: no selected target names a secret; there is nothing to hand over")
        unmatched = [c for c in credentials if not c.matches]
        if unmatched and not options.include_unmatched:
            raise UsageError(refusal(unmatched))
        staging = output.parent / f".{output.name}.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        try:
            result, body = _produce(staging, options, info, auth, evidence, named, credentials, signing_key)
            result.warnings += _warnings(evidence, credentials, inventory.path.name, options)
            if keyless:
                result.warnings.append(f"no secret reference, so not in the package (a key file is handed over "
                                       f"separately): {', '.join(keyless)}")
            _sync(staging)
            os.rename(staging, output)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        result.output = output
        held.append("handover", _journal_data(result, body, inventory))
        if options.mail is not None and smtp is not None:
            try:
                delivery = mail.send(options.mail, smtp, body, result)
            except EvidenceKitError as exc:
                held.append("handover_mail_failed", {"transmittal_id": result.transmittal_id, "error": exc.one_line()})
                raise mail.MailNotSent(exc, output) from exc
            result.mail = delivery.as_dict()
            held.append("handover_mailed", {"transmittal_id": result.transmittal_id, **result.mail})
    return result


def _produce(folder: Path, options: HandoverOptions, info: dict[str, Any], auth: dict[str, Any], evidence: Evidence,
             named: list[NamedRecipient], credentials: list[Credential], signing_key: Any
             ) -> tuple[HandoverResult, dict[str, Any]]:
    case_id = evidence.case_id
    now = _utc()
    transmittal_id = f"{case_id}-handover-{now.strftime('%Y%m%dT%H%M%SZ')}"
    client_texts = {str(r) for r in info.get("recipients") or []}
    sealed = seal(SealOptions(
        case_dir=Path(options.case_dir), output=folder / f"{case_id}.age", sign_key=options.sign_key,
        recipients=[r.recipient for r in named if r.recipient not in client_texts], tsa_urls=list(options.tsa_urls),
        tsa_roots=list(options.tsa_roots), tsa_timeout=options.tsa_timeout,
    ))
    archive, receipt = Path(sealed.archive), Path(sealed.receipt)
    package_name = f"{case_id}-credentials.age"
    ctx = package.PackageContext(case_id, str(info.get("client", "")), archive.name, sealed.sha256,
                                 str((info.get("commitments") or {}).get("scheme", "")))
    package.write_package(folder / package_name, credentials, ctx,
                          keys.load_recipients([r.recipient for r in named]))
    files = [_file(folder, archive.name, "evidence"), _file(folder, receipt.name, "receipt"),
             _file(folder, package_name, "credential package")]
    body = _body(transmittal_id, now, info, auth, evidence, named, credentials, sealed, files, signing_key)
    body["letter"] = []
    for name in letter.write_letter(folder, body, options.pdf, options.paper, options.browser):
        files.append(_file(folder, name, "letter"))
        body["letter"].append(_named(files[-1]))
    written = transmittal.write(folder, body, signing_key, list(options.tsa_urls), list(options.tsa_roots),
                                options.tsa_timeout)
    files += [_file(folder, name, "transmittal") for name in written.files]
    result = HandoverResult(folder, case_id, named, credentials, files, transmittal_id, written.timestamps)
    if not options.tsa_urls:
        result.warnings.append("no --tsa given: the archive and the transmittal carry no trusted time")
    result.warnings += [w for w in sealed.warnings if not w.startswith("no --tsa")]
    return result, body


def _body(transmittal_id: str, now: _dt.datetime, info: dict[str, Any], auth: dict[str, Any], evidence: Evidence,
          named: list[NamedRecipient], credentials: list[Credential], sealed: SealResult, files: list[OutputFile],
          signing_key: Any) -> dict[str, Any]:
    import json

    receipt_doc = json.loads(Path(sealed.receipt).read_bytes())["receipt"]
    head = receipt_doc["bag"]["journal_head"]
    if head != evidence.journal_head:
        raise CaseError("the case journal changed while it was being sealed; nothing was handed over")
    by_role = {f.role: f for f in files}
    scheme = str((info.get("commitments") or {}).get("scheme", ""))
    return {
        "format": transmittal.FORMAT,
        "transmittal_id": transmittal_id,
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "case": {k: info.get(k) for k in ("case_id", "client", "provider", "technician", "purpose")},
        "recipients": [r.as_dict() for r in named],
        "authorization": {"original_name": auth.get("original_name"), "sha256": auth.get("sha256"),
                          "size": auth.get("size")},
        "evidence": {"file": by_role["evidence"].name, "size": sealed.size, "sha256": sealed.sha256,
                     "receipt": _named(by_role["receipt"]), "journal_head": head,
                     "journal_entries": evidence.journal_entries, "signer_fingerprint": sealed.signer_fingerprint,
                     "timestamps": [{k: s.get(k) for k in ("tsa", "time", "tsa_name")} for s in sealed.timestamps]},
        "credential_package": {**_named(by_role["credential package"]),
                               "format": "age (tar of credentials.kdbx: KeePass KDBX 4, passphrase.txt, README.txt)"},
        "items": [c.as_dict() for c in credentials],
        "commitments": {"parameters": info.get("commitments"), "derivation": describe_derivation(scheme)},
        "signer": {"fingerprint": keys.fingerprint(signing_key.public_key()),
                   "public_key_pem": keys.public_pem(signing_key.public_key()).decode()},
        "tool": {"name": "evidence-kit", "version": __version__},
    }


def _warnings(evidence: Evidence, credentials: list[Credential], inventory_name: str,
              options: HandoverOptions) -> list[str]:
    out = []
    handed = {c.target for c in credentials}
    left = sorted(t for t in evidence.targets if t not in handed)
    if left and not options.source.only:
        out.append(f"{len(left)} target(s) captured in the case are not in {inventory_name} and were not handed "
                   f"over: {', '.join(left[:5])}")
    failed = [f"{c.target} ({c.outcome or 'never captured'})" for c in credentials if c.outcome != "login_ok"]
    if failed:
        out.append(f"handed over although the test did not end login_ok: {', '.join(failed[:5])}")
    included = [c.target for c in credentials if not c.matches]
    if included:
        out.append(f"delivered NOT as tested (marked in the package and the transmittal): {', '.join(included)}")
    return out


def _journal_data(result: HandoverResult, body: dict[str, Any], inventory: Any) -> dict[str, Any]:
    return {
        "transmittal_id": result.transmittal_id,
        "output": str(Path(result.output).resolve()),
        "recipients": [r.as_dict() for r in result.recipients],
        "files": [f.as_dict() for f in result.files],
        "archive": {"name": body["evidence"]["file"], "sha256": body["evidence"]["sha256"],
                    "journal_head": body["evidence"]["journal_head"],
                    "journal_entries": body["evidence"]["journal_entries"]},
        "transmittal_sha256": result.file("transmittal").sha256,
        "timestamps": result.timestamps,
        "inventory": {"name": inventory.path.name, "sha256": inventory.sha256},
        "credentials": [{"target": c.target, "fields": [f.field for f in c.checks if f.delivered],
                         "outcome": c.outcome, "delivered_equals_tested": c.matches} for c in result.credentials],
    }
