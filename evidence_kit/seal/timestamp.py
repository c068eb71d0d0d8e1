"""RFC 3161 time-stamps: request one over the signature file, check it, verify it later.

Parsing and verification use ``rfc3161-client``. That library refuses a response whose
embedded certificate ``SET`` is not in DER order (``InvalidSetOrdering``), which ``openssl ts``
produces with ``certs=`` in its configuration, and real TSAs may too. The certificate set is
*not* covered by the token's signature (the signature covers the signed attributes, which carry
the digest of the TSTInfo), so re-sorting it is harmless: :func:`normalize_certificate_set`
does exactly that with a minimal DER walker, and only the parsed copy is normalized -- the
archive keeps the TSA's bytes unchanged, which ``openssl ts -verify`` accepts as they are.
"""

from __future__ import annotations

import hashlib
import http.client
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from evidence_kit.errors import CheckProblem, InputError, KeyFileError

MAX_RESPONSE = 1 << 20
SHA256_OID = "2.16.840.1.101.3.4.2.1"
HASHES = {
    "2.16.840.1.101.3.4.2.1": hashlib.sha256,
    "2.16.840.1.101.3.4.2.2": hashlib.sha384,
    "2.16.840.1.101.3.4.2.3": hashlib.sha512,
}


class TimestampProblem(CheckProblem):
    """A time-stamp response is unusable or does not verify."""


# --------------------------------------------------------------------------- minimal DER


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    """(tag, header start, content start, content end) of the TLV at ``pos``."""
    if pos + 2 > end:
        raise TimestampProblem("DER: truncated")
    tag = data[pos]
    i = pos + 1
    if tag & 0x1F == 0x1F:  # high tag number form
        while i < end and data[i] & 0x80:
            i += 1
        i += 1
    if i >= end:
        raise TimestampProblem("DER: truncated")
    first = data[i]
    i += 1
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or i + count > end:
            raise TimestampProblem("DER: unsupported length")
        length = int.from_bytes(data[i:i + count], "big")
        i += count
    if i + length > end:
        raise TimestampProblem("DER: length beyond the data")
    return tag, pos, i, i + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tlv = _tlv(data, pos, end)
        out.append(tlv)
        pos = tlv[3]
    return out


def normalize_certificate_set(data: bytes) -> bytes:
    """The same response with SignedData's certificate SET in DER order (nothing else changes)."""
    tag, _, start, end = _tlv(data, 0, len(data))
    if tag != 0x30 or end != len(data):
        raise TimestampProblem("not a DER TimeStampResp")
    resp = _children(data, start, end)
    if len(resp) < 2:
        return data  # no token to normalize
    tag, _, start, end = resp[1]  # ContentInfo
    content_info = _children(data, start, end)
    if len(content_info) < 2 or content_info[1][0] != 0xA0:
        raise TimestampProblem("time-stamp token is not a ContentInfo")
    _, _, start, end = content_info[1]
    inner = _children(data, start, end)
    if not inner or inner[0][0] != 0x30:
        raise TimestampProblem("time-stamp token holds no SignedData")
    _, _, start, end = inner[0]
    for tag, _, c_start, c_end in _children(data, start, end):
        if tag == 0xA0:  # certificates [0] IMPLICIT SET OF CertificateChoices
            members = [data[s:e] for _, s, _, e in _children(data, c_start, c_end)]
            longest = max((len(m) for m in members), default=0)
            ordered = sorted(members, key=lambda m: m + b"\0" * (longest - len(m)))
            return data[:c_start] + b"".join(ordered) + data[c_end:]
    return data


# --------------------------------------------------------------------------- parsing / verifying


@dataclass
class TimestampInfo:
    gen_time: str
    serial: int
    nonce: int | None
    tsa_subject: str | None
    hash_oid: str
    normalized: bool
    verified: bool = False
    facts: dict[str, Any] = field(default_factory=dict)


def parse_response(data: bytes) -> tuple[Any, bool]:
    """(rfc3161-client TimeStampResponse, whether the certificate set had to be re-sorted)."""
    from rfc3161_client import decode_timestamp_response

    try:
        return decode_timestamp_response(data), False
    except Exception as first:
        try:
            fixed = normalize_certificate_set(data)
        except TimestampProblem as exc:
            raise TimestampProblem(f"unparseable time-stamp response ({exc})")
        if fixed == data:
            raise TimestampProblem(f"unparseable time-stamp response ({_short(first)})")
        try:
            return decode_timestamp_response(fixed), True
        except Exception as exc:
            raise TimestampProblem(f"unparseable time-stamp response ({_short(exc)})")


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def _embedded_certs(resp: Any) -> list[x509.Certificate]:
    certs = []
    for der in resp.signed_data.certificates:
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return certs


def _signer_subject(resp: Any, certs: list[x509.Certificate]) -> str | None:
    infos = list(resp.signed_data.signer_infos)
    for cert in certs:
        for si in infos:
            if cert.issuer == si.issuer and cert.serial_number == si.serial_number:
                return cert.subject.rfc4514_string()
    return None


def check_response(data: bytes, message: bytes, roots: list[x509.Certificate] | None = None,
                   nonce: int | None = None, *, digest: bytes | None = None) -> TimestampInfo:
    """Check a response over ``message``: status, imprint, nonce and, given ``roots``, the token's
    signature, the signing certificate's critical timeStamping usage and its chain to a root.

    Without roots only status, imprint and nonce are checked (``verified`` stays False): who the
    TSA is cannot be proven without a trust anchor, and the caller reports it as not checked.
    ``digest`` (a SHA-256 value) replaces hashing ``message``: a capture checkpoint time-stamps a
    journal entry's hash itself, so ``openssl ts -verify -digest HASH`` checks it directly.
    """
    from rfc3161_client import PKIStatus, VerificationError, VerifierBuilder

    resp, normalized = parse_response(data)
    if resp.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampProblem(f"TSA refused: status {resp.status} {' '.join(resp.status_string)}")
    tst = resp.tst_info
    oid = tst.message_imprint.hash_algorithm.dotted_string
    hasher = HASHES.get(oid)
    if hasher is None:
        raise TimestampProblem(f"unsupported imprint hash algorithm {oid}")
    if digest is not None:
        if oid != SHA256_OID or tst.message_imprint.message != digest:
            raise TimestampProblem("message imprint is not the time-stamped hash (time-stamp for other data)")
    elif tst.message_imprint.message != hasher(message).digest():
        raise TimestampProblem("message imprint does not match the signature file (time-stamp for other data)")
    if nonce is not None and tst.nonce != nonce:
        raise TimestampProblem("nonce does not match the request")
    certs = _embedded_certs(resp)
    verified = False
    if roots:
        builder = VerifierBuilder()
        seen: set[bytes] = set()
        for cert in roots:
            der = cert.public_bytes(Encoding.DER)
            if der not in seen:
                seen.add(der)
                builder = builder.add_root_certificate(cert)
        # rfc3161-client hands roots *and* intermediates to OpenSSL as trusted certificates, so
        # only intermediates proven to lead from the signer to a given root are passed on: an
        # embedded self-signed "root" must never become a trust anchor.
        for cert in _path_to_roots(resp, certs, roots):
            der = cert.public_bytes(Encoding.DER)
            if der not in seen:
                seen.add(der)
                builder = builder.add_intermediate_certificate(cert)
        try:
            builder.build().verify(resp, tst.message_imprint.message)
        except VerificationError as exc:
            raise TimestampProblem(f"does not verify against the given TSA roots: {_short(exc)}")
        except Exception as exc:
            raise TimestampProblem(f"does not verify: {_short(exc)}")
        verified = True
    gen = tst.gen_time
    return TimestampInfo(
        gen_time=gen.strftime("%Y-%m-%dT%H:%M:%SZ") if gen.tzinfo is None else gen.isoformat(),
        serial=int(tst.serial_number), nonce=tst.nonce, tsa_subject=_signer_subject(resp, certs),
        hash_oid=oid, normalized=normalized, verified=verified,
    )


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _path_to_roots(resp: Any, certs: list[x509.Certificate], roots: list[x509.Certificate]) -> list[x509.Certificate]:
    """The embedded intermediates on the path from the signing certificate to one of ``roots``."""
    infos = list(resp.signed_data.signer_infos)
    leaf = next((c for c in certs for si in infos if c.issuer == si.issuer and c.serial_number == si.serial_number),
                None)
    if leaf is None:
        return []  # rfc3161-client reports the missing signer certificate itself
    path: list[x509.Certificate] = []
    current = leaf
    for _ in range(8):
        if any(_issued_by(current, root) for root in roots):
            return path
        parent = next((c for c in certs if c not in path and c != current and _is_ca(c) and _issued_by(current, c)),
                      None)
        if parent is None:
            break
        path.append(parent)
        current = parent
    raise TimestampProblem("the TSA certificate does not chain to a given TSA root (--tsa-ca)")


def load_roots(paths: list[Path]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read TSA CA ({exc.strerror or exc.__class__.__name__})")
        try:
            found = x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [
                x509.load_der_x509_certificate(data)]
        except ValueError:
            raise InputError(str(path), "not a PEM or DER X.509 certificate")
        roots.extend(found)
    return roots


# --------------------------------------------------------------------------- requesting


def request(url: str, message: bytes, timeout: float = 30.0,
            roots: list[x509.Certificate] | None = None) -> tuple[bytes, TimestampInfo]:
    """Ask the TSA at ``url`` for a time-stamp over ``message`` (SHA-256, nonce, certificates)."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    _check_url(url)
    req = (TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).nonce(nonce=True)
           .cert_request(cert_request=True).build())
    body = _post(url, req.as_bytes(), timeout)
    info = check_response(body, message, roots=roots, nonce=req.nonce)
    return body, info


def request_digest(url: str, digest: bytes, timeout: float = 30.0,
                   roots: list[x509.Certificate] | None = None) -> tuple[bytes, TimestampInfo]:
    """Ask for a time-stamp over a SHA-256 value itself (a journal entry's hash), not over data.

    rfc3161-client builds requests from data only, so this request is encoded here: version 1,
    the SHA-256 imprint, a random 63-bit nonce, certReq TRUE (RFC 3161 section 2.4.1).
    """
    if len(digest) != 32:
        raise TimestampProblem("a SHA-256 value is 32 bytes")
    _check_url(url)
    nonce = secrets.randbits(63) | 1
    imprint = _der(0x30, _der(0x30, bytes.fromhex("0609608648016503040201") + b"\x05\x00") + _der(0x04, digest))
    der = _der(0x30, b"\x02\x01\x01" + imprint + _der(0x02, _uint(nonce)) + b"\x01\x01\xff")
    body = _post(url, der, timeout)
    info = check_response(body, b"", roots=roots, nonce=nonce, digest=digest)
    return body, info


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + content


def _uint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


def _check_url(url: str) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise TimestampProblem(f"TSA URL {url!r} is not http(s)")


def _post(url: str, query: bytes, timeout: float) -> bytes:
    post = urllib.request.Request(  # noqa: S310 - the scheme is checked by the callers
        url, data=query, method="POST",
        headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(post, timeout=timeout) as reply:  # noqa: S310 - scheme checked
            body = reply.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        raise TimestampProblem(f"TSA {url} answered HTTP {exc.code}")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        text = _short(reason) if isinstance(reason, BaseException) else str(reason)
        raise TimestampProblem(f"TSA {url} unreachable ({text})")
    if len(body) > MAX_RESPONSE:
        raise TimestampProblem(f"TSA {url} answered more than {MAX_RESPONSE} bytes")
    return body
