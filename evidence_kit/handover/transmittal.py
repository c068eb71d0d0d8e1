"""``transmittal.json``: what was handed over, to whom, signed and time-stamped.

Signed the way the bag's tag manifest is, so that openssl alone checks it: the file's exact
bytes are signed with the seal's Ed25519 key (:func:`evidence_kit.seal.sign.sign`), the raw
64-byte signature lies beside it as ``transmittal.json.sig``, and each TSA's RFC 3161 response
over that signature file (:func:`evidence_kit.seal.timestamp.request`, as for the receipt) as
``transmittal.json.sig.tsr`` (then ``.sig.2.tsr``...). ``signer-public.pem`` is the signer::

    openssl pkeyutl -verify -pubin -inkey signer-public.pem -rawin -in transmittal.json -sigfile transmittal.json.sig
    openssl ts -verify -data transmittal.json.sig -in transmittal.json.sig.tsr -CAfile tsa-root.pem

The body binds the evidence archive (size, SHA-256, sealed journal head), the credential
package, the authorization document and the letter files by their hashes; the body itself is
built by :mod:`evidence_kit.handover.run`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence_kit.errors import CheckProblem
from evidence_kit.seal import keys, sign
from evidence_kit.seal.seal import TimestampFailed
from evidence_kit.seal.timestamp import TimestampProblem, check_response
from evidence_kit.seal.timestamp import request as tsa_request

FORMAT = "evidence-kit-transmittal/1"
NAME = "transmittal.json"
SIGNATURE = "transmittal.json.sig"
SIGNER_PEM = "signer-public.pem"


def tsr_name(index: int) -> str:
    return "transmittal.json.sig.tsr" if index == 1 else f"transmittal.json.sig.{index}.tsr"


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class Written:
    files: list[str]
    timestamps: list[dict[str, Any]]


def write(folder: Path, body: dict[str, Any], key: Ed25519PrivateKey, tsa_urls: list[str],
          roots: list[x509.Certificate], timeout: float = 30.0) -> Written:
    """Write transmittal.json, its signature, each TSA's time-stamp and the signer's public key.
    A TSA that fails abandons the handover (trusted time was asked for), as it does a seal."""
    data = encode(body)
    signature = sign.sign(key, data)
    stamps: list[tuple[str, bytes]] = []
    times: list[dict[str, Any]] = []
    for index, url in enumerate(tsa_urls, start=1):
        try:
            der, stamp = tsa_request(url, signature, timeout=timeout, roots=roots or None)
        except TimestampProblem as exc:
            raise TimestampFailed(f"time-stamp from {url} for {NAME}: {exc}; nothing was handed over")
        stamps.append((tsr_name(index), der))
        times.append({"tsa": url, "file": tsr_name(index), "time": stamp.gen_time, "tsa_name": stamp.tsa_subject})
    (folder / NAME).write_bytes(data)
    (folder / SIGNATURE).write_bytes(signature)
    for name, der in stamps:
        (folder / name).write_bytes(der)
    (folder / SIGNER_PEM).write_bytes(keys.public_pem(key.public_key()))
    return Written([NAME, SIGNATURE, *(n for n, _ in stamps), SIGNER_PEM], times)


class TransmittalProblem(CheckProblem):
    """The transmittal is unreadable, or its signature or a time-stamp does not verify."""


@dataclass(frozen=True)
class CheckedTransmittal:
    path: Path
    body: dict[str, Any]
    sha256: str
    signer_fingerprint: str
    times: list[str]  # each time-stamp's time, "(TSA not checked)" without roots


def check(path: Path, roots: list[x509.Certificate] | None = None) -> CheckedTransmittal:
    """Check the signature (by the key the body names, which must be ``signer-public.pem`` when
    that lies beside it) and every time-stamp beside ``path``."""
    path = Path(path)
    folder = path.parent
    try:
        data = path.read_bytes()
        body = json.loads(data)
        signature = path.with_name(path.name + ".sig").read_bytes()
    except FileNotFoundError as exc:
        raise TransmittalProblem(f"{exc.filename}: missing")
    except (OSError, ValueError) as exc:
        raise TransmittalProblem(f"{path}: unreadable ({exc.__class__.__name__})")
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise TransmittalProblem(f"{path}: not an evidence-kit transmittal (format {FORMAT} expected)")
    try:
        public = sign.load_signer(str((body.get("signer") or {}).get("public_key_pem", "")).encode())
        sign.verify(public, data, signature)
    except sign.SignatureProblem as exc:
        raise TransmittalProblem(f"{path.name}: signature: {str(exc).replace('the tag manifest', 'the transmittal')}")
    fpr = keys.fingerprint(public)
    beside = folder / SIGNER_PEM
    if beside.is_file():
        try:
            if keys.fingerprint(sign.load_signer(beside.read_bytes())) != fpr:
                raise TransmittalProblem(f"{beside}: is not the key the transmittal names as its signer")
        except sign.SignatureProblem as exc:
            raise TransmittalProblem(f"{beside}: {exc}")
    times = []
    pattern = re.compile(re.escape(path.name) + r"\.sig(?:\.([2-9]|[1-9][0-9]+))?\.tsr$")
    found = sorted((int(m.group(1) or 1), p) for p in folder.iterdir() if (m := pattern.match(p.name)))
    for number, (index, tsr) in enumerate(found, start=1):
        if index != number:
            raise TransmittalProblem(f"{tsr.name}: time-stamp files are not numbered 1..n")
        try:
            info = check_response(tsr.read_bytes(), signature, roots=roots)
        except TimestampProblem as exc:
            raise TransmittalProblem(f"{tsr.name}: {exc}")
        times.append(info.gen_time + ("" if info.verified else " (TSA not checked: no --tsa-ca)"))
    return CheckedTransmittal(path, body, hashlib.sha256(data).hexdigest(), fpr, times)
