"""The public receipt (``ARCHIVE.receipt.json``): proof that this exact ciphertext existed.

It holds no evidence: the archive's size and SHA-256, the case id, the signer, the digest of
the signed tag manifest. The signer signs the canonical JSON of the ``receipt`` object (sorted
keys, no spaces, UTF-8) and each TSA time-stamps that signature. A client keeps it without
being able to read the archive, and anyone can later show that the archive is unchanged.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence_kit.errors import CheckProblem
from evidence_kit.seal import sign
from evidence_kit.seal.keys import fingerprint
from evidence_kit.seal.model import RECEIPT_FORMAT
from evidence_kit.seal.timestamp import TimestampProblem, check_response


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build(body: dict[str, Any], key: Ed25519PrivateKey, tsa_responses: list[tuple[str, bytes]]) -> dict[str, Any]:
    signature = sign.sign(key, canonical(body))
    return {
        "receipt": body,
        "signature": base64.b64encode(signature).decode(),
        "timestamps": [{"tsa": url, "response": base64.b64encode(der).decode()} for url, der in tsa_responses],
    }


def signature_of(body: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    return sign.sign(key, canonical(body))


class ReceiptProblem(CheckProblem):
    """The receipt is malformed, not signed by the archive's signer, or does not match."""


@dataclass
class ReceiptCheck:
    detail: str
    timestamps: list[str]


def check(path: Path, archive_size: int, archive_sha256: str, signer_fpr: str | None, case_id: str | None,
          tagmanifest_sha256: str | None, roots: list[x509.Certificate] | None) -> ReceiptCheck:
    """Check a receipt against the archive as read (size, SHA-256) and the bag found inside."""
    try:
        doc = json.loads(Path(path).read_bytes())
        body = doc["receipt"]
        signature = base64.b64decode(doc["signature"], validate=True)
        stamps = doc.get("timestamps") or []
        if not isinstance(body, dict) or not isinstance(stamps, list):
            raise TypeError
        if body.get("format") != RECEIPT_FORMAT:
            raise ReceiptProblem(f"not an evidence-kit receipt (format {RECEIPT_FORMAT} expected)")
        pem = str(body["signer"]["public_key_pem"]).encode()
        size = int(body["archive"]["size"])
        digest = str(body["archive"]["sha256"])
    except ReceiptProblem:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReceiptProblem(f"unreadable receipt ({type(exc).__name__})")
    try:
        public = sign.load_signer(pem)
        sign.verify(public, canonical(body), signature)
    except sign.SignatureProblem as exc:
        raise ReceiptProblem(f"receipt signature: {exc}")
    if size != archive_size or digest != archive_sha256:
        raise ReceiptProblem(f"the archive is not the one the receipt names (receipt: {size} bytes, sha256 "
                             f"{digest[:16]}...; archive: {archive_size} bytes, sha256 {archive_sha256[:16]}...)")
    if signer_fpr is not None and fingerprint(public) != signer_fpr:
        raise ReceiptProblem("the receipt is signed by another key than the archive")
    if case_id is not None and body.get("case_id") != case_id:
        raise ReceiptProblem(f"the receipt names case {body.get('case_id')!r}, the archive holds {case_id!r}")
    if tagmanifest_sha256 is not None and body.get("bag", {}).get("tagmanifest_sha256") != tagmanifest_sha256:
        raise ReceiptProblem("the receipt names another tag manifest than the archive holds")
    times = []
    for number, stamp in enumerate(stamps, start=1):
        try:
            der = base64.b64decode(stamp["response"], validate=True)
            info = check_response(der, signature, roots=roots)
        except TimestampProblem as exc:
            raise ReceiptProblem(f"receipt time-stamp {number}: {exc}")
        except (ValueError, KeyError, TypeError) as exc:
            raise ReceiptProblem(f"receipt time-stamp {number} unreadable ({type(exc).__name__})")
        times.append(info.gen_time + ("" if info.verified else " (TSA not checked: no --tsa-ca)"))
    detail = f"archive matches the signed receipt ({archive_size} bytes, sha256 {archive_sha256[:16]}...)"
    return ReceiptCheck(detail, times)
