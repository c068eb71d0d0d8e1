"""The age header: the magic line, recipient stanzas, the MAC line, and age's strict base64.

Parsing is strict the way the age CLI is (canonical unpadded base64, body lines of at most 64
columns, a header of at most 64 KiB) so a hostile file cannot make the reader guess.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evidence_kit.errors import CheckProblem

AGE_MAGIC = b"age-encryption.org/v1\n"
MAX_HEADER = 64 * 1024
FILE_KEY_SIZE = 16


class AgeFormatError(CheckProblem):
    """The bytes are not a well-formed age file (header syntax, MAC, a chunk, truncation)."""


class AgeNoMatch(Exception):
    """No identity / passphrase given can unwrap the file key."""


def b64(data: bytes) -> bytes:
    """age's base64: standard alphabet, no padding."""
    return base64.b64encode(data).rstrip(b"=")


def unb64(text: bytes) -> bytes:
    """age's strict base64: standard alphabet, no padding, canonical."""
    if b"=" in text or b"\r" in text or b"\n" in text:
        raise AgeFormatError("malformed base64 in header")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise AgeFormatError("malformed base64 in header")
    if b64(data) != text:
        raise AgeFormatError("non-canonical base64 in header")
    return data


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 to a 32-byte key: every key age derives (header MAC, payload, stanza wraps)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def header_mac(file_key: bytes, header_without_mac: bytes) -> bytes:
    """HMAC-SHA-256 of the header up to and including ``---``, keyed from the file key."""
    return hmac.new(hkdf(file_key, b"", b"header"), header_without_mac, "sha256").digest()


def mac_line(header_without_mac: bytes, mac: bytes) -> bytes:
    """The header's last line completed: ``--- <MAC>`` and the newline before the payload."""
    return header_without_mac + b" " + b64(mac) + b"\n"


@dataclass
class Stanza:
    type: str
    args: list[str]
    body: bytes


@dataclass
class Header:
    stanzas: list[Stanza]
    mac: bytes
    raw_without_mac: bytes  # the header bytes up to and including "---"

    @property
    def is_scrypt(self) -> bool:
        return any(s.type == "scrypt" for s in self.stanzas)

    def encoded(self) -> bytes:
        """The header exactly as it was read (everything before the payload nonce)."""
        return mac_line(self.raw_without_mac, self.mac)

    def check_mac(self, file_key: bytes) -> None:
        """An unwrapped file key is only accepted once the header MAC it keys is right."""
        if not hmac.compare_digest(header_mac(file_key, self.raw_without_mac), self.mac):
            raise AgeFormatError("header MAC is invalid (header damaged)")


def read_header(fh: IO[bytes]) -> Header:
    """Parse an age header from ``fh``, leaving it positioned at the payload nonce."""
    consumed = bytearray()

    def line() -> bytes:
        data = fh.readline(MAX_HEADER + 1)
        consumed.extend(data)
        if len(consumed) > MAX_HEADER:
            raise AgeFormatError("header is too long")
        if not data.endswith(b"\n"):
            raise AgeFormatError("header is truncated")
        return data[:-1]

    if line() + b"\n" != AGE_MAGIC:
        raise AgeFormatError("not an age file (bad magic line)")
    stanzas: list[Stanza] = []
    current = line()
    while True:
        if current.startswith(b"---"):
            if not current.startswith(b"--- "):
                raise AgeFormatError("malformed header MAC line")
            mac = unb64(current[4:])
            if len(mac) != 32:
                raise AgeFormatError("malformed header MAC")
            raw = bytes(consumed[: len(consumed) - len(current) - 1]) + b"---"
            return Header(stanzas, mac, raw)
        if not current.startswith(b"-> "):
            raise AgeFormatError("malformed stanza line")
        parts = current[3:].split(b" ")
        if not parts or any(not p for p in parts):
            raise AgeFormatError("malformed stanza arguments")
        try:
            strs = [p.decode("ascii") for p in parts]
        except UnicodeDecodeError:
            raise AgeFormatError("non-ASCII stanza arguments")
        body = bytearray()
        while True:
            body_line = line()
            if len(body_line) > 64:
                raise AgeFormatError("stanza body line too long")
            body.extend(unb64(body_line) if body_line else b"")
            if len(body_line) < 64:
                break
        stanzas.append(Stanza(strs[0], strs[1:], bytes(body)))
        current = line()


def header_bytes(stanzas: Sequence[Stanza]) -> bytes:
    """The header for ``stanzas`` up to and including ``---`` (what the MAC covers)."""
    out = bytearray(AGE_MAGIC)
    for st in stanzas:
        out += b"-> " + " ".join([st.type, *st.args]).encode("ascii") + b"\n"
        body = b64(st.body)
        for i in range(0, len(body), 64):
            out += body[i:i + 64] + b"\n"
        if len(body) % 64 == 0:
            out += b"\n"
    out += b"---"
    return bytes(out)
