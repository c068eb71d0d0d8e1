"""The webhook signature scheme: what is signed, how, and how a receiver checks it.

Three headers travel with every request (docs/notify.md shows the check in Python, shell and
Node)::

    X-Evidence-Kit-Delivery:  <delivery id>   same on every retry of one notification
    X-Evidence-Kit-Timestamp: <unix seconds>  new on every attempt
    X-Evidence-Kit-Signature: sha256=<hex HMAC-SHA256(secret, "<delivery id>.<timestamp>." + body)>

Why this shape: GitHub's ``X-Hub-Signature-256: sha256=<hex>`` form (the header value
receivers already know how to parse), with the id and timestamp bound into the MAC as Stripe
and the Standard Webhooks specification do (content ``id.timestamp.body``), so that a captured
request cannot be replayed later (receivers refuse a timestamp outside their tolerance, 5
minutes by default) nor passed off as another delivery. The key is the shared secret's UTF-8
bytes; the body is signed exactly as sent, byte for byte, before any JSON parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from evidence_kit.notify.errors import SignatureError

SIGNATURE_HEADER = "X-Evidence-Kit-Signature"
TIMESTAMP_HEADER = "X-Evidence-Kit-Timestamp"
DELIVERY_HEADER = "X-Evidence-Kit-Delivery"
DEFAULT_TOLERANCE = 300.0  # seconds, either side of the receiver's clock

_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def signed_content(delivery_id: str, timestamp: int, body: bytes) -> bytes:
    """The exact bytes the MAC covers."""
    return f"{delivery_id}.{timestamp}.".encode("ascii") + body


def signature(secret: str | bytes, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The header value: ``sha256=`` and the lower-case hex HMAC-SHA256."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    mac = hmac.new(key, signed_content(delivery_id, timestamp, body), hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def signed_headers(secret: str | bytes, delivery_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three headers for one attempt (timestamp taken now)."""
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise ValueError("delivery id must be 1-128 characters of letters, digits and _.:-")
    ts = int(time.time() if now is None else now)
    return {
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: signature(secret, delivery_id, ts, body),
    }


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Check a received request; return its delivery id or raise :class:`SignatureError`.

    For receivers written in Python. Header names are matched case-insensitively; the MAC is
    compared in constant time; the timestamp must be within ``tolerance`` seconds of now.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    delivery_id = lower.get(DELIVERY_HEADER.lower(), "")
    ts_text = lower.get(TIMESTAMP_HEADER.lower(), "")
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    if not (delivery_id and ts_text and given):
        raise SignatureError("webhook request lacks the delivery, timestamp or signature header")
    if not ts_text.isdigit():
        raise SignatureError(f"webhook timestamp {ts_text[:20]!r} is not unix seconds")
    skew = (time.time() if now is None else now) - int(ts_text)
    if abs(skew) > tolerance:
        raise SignatureError(f"webhook timestamp is {skew:+.0f} s from now (tolerance {tolerance:g} s)")
    expected = signature(secret, delivery_id, int(ts_text), body)
    if not hmac.compare_digest(expected.encode("ascii"), given.strip().encode("ascii", "replace")):
        raise SignatureError("webhook signature does not match the body and the shared secret")
    return delivery_id
