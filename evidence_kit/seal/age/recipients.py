"""Who can open an age file: the stanzas that wrap its 16-byte file key, and unwrapping them.

* scrypt (a passphrase): implemented here from the specification, because pyrage's passphrase
  API takes and returns whole ``bytes`` (docs/sealing.md explains the choice).
* X25519 (``age1...`` / ``AGE-SECRET-KEY-1...``, Bech32-encoded): implemented here too, so the
  common path needs neither pyrage's 8 KiB callbacks nor its decrypt thread and pipe.
* SSH (``ssh-ed25519``, ``ssh-rsa``): through pyrage's streaming ``encrypt_io`` / ``decrypt_io``
  (the Ed25519-to-X25519 conversion and RSA-OAEP stay in a maintained library).
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from evidence_kit.errors import ArchiveError
from evidence_kit.seal.age.format import FILE_KEY_SIZE, AgeFormatError, AgeNoMatch, Header, Stanza, b64, hkdf, unb64
from evidence_kit.seal.age.stream import (
    NONCE_SIZE,
    Decryption,
    HashingReader,
    IterReader,
    NullWriter,
    SinkWriter,
)

# age's default work factor (log2 of scrypt's N) and the most we accept when decrypting, as the
# age CLI does (a hostile header must not make us allocate gigabytes).
DEFAULT_SCRYPT_LOG_N = 18
MAX_SCRYPT_LOG_N = 22
SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
X25519_LABEL = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = b"\0" * 12  # every wrap key is used once, so the stanza nonce is zero (spec)


def new_file_key() -> bytes:
    return secrets.token_bytes(FILE_KEY_SIZE)


# --------------------------------------------------------------------------- scrypt (passphrase)


def _scrypt_key(passphrase: bytes, salt: bytes, log_n: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(passphrase, salt=SCRYPT_LABEL + salt, n=n, r=8, p=1, dklen=32,
                          maxmem=128 * 8 * n + (16 << 20))


def scrypt_stanza(file_key: bytes, passphrase: bytes, log_n: int = DEFAULT_SCRYPT_LOG_N) -> Stanza:
    """The one stanza of a passphrase-encrypted file."""
    if not 1 <= log_n <= MAX_SCRYPT_LOG_N:
        raise ValueError(f"scrypt work factor must be 1..{MAX_SCRYPT_LOG_N}")
    salt = secrets.token_bytes(16)
    wrapped = ChaCha20Poly1305(_scrypt_key(passphrase, salt, log_n)).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza("scrypt", [b64(salt).decode(), str(log_n)], wrapped)


def unwrap_scrypt(header: Header, passphrase: bytes) -> bytes:
    """The file key of a passphrase-encrypted file; :class:`AgeNoMatch` if the passphrase is wrong."""
    if not header.is_scrypt:
        raise AgeNoMatch("the archive is not passphrase-encrypted")
    if len(header.stanzas) != 1:
        raise AgeFormatError("an scrypt stanza must be the only stanza")
    st = header.stanzas[0]
    if len(st.args) != 2 or not st.args[1].isdigit() or st.args[1].startswith("0"):
        raise AgeFormatError("malformed scrypt stanza")
    salt = unb64(st.args[0].encode())
    log_n = int(st.args[1])
    if len(salt) != 16 or len(st.body) != 32:
        raise AgeFormatError("malformed scrypt stanza")
    if log_n > MAX_SCRYPT_LOG_N:
        raise AgeFormatError(f"scrypt work factor {log_n} is above the limit {MAX_SCRYPT_LOG_N}")
    wrap = _scrypt_key(passphrase, salt, log_n)
    try:
        file_key = ChaCha20Poly1305(wrap).decrypt(_ZERO_NONCE, st.body, None)
    except InvalidTag:
        raise AgeNoMatch("incorrect passphrase")
    header.check_mac(file_key)
    return file_key


# --------------------------------------------------------------------------- X25519 and Bech32

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32_decode(text: str, hrp: str) -> bytes:
    """Decode a Bech32 string (BIP 173, no length limit, as age uses) with the given prefix."""
    lowered = text.lower()
    if text not in (lowered, text.upper()):
        raise ValueError("mixed case")
    pos = lowered.rfind("1")
    if lowered[:pos] != hrp or pos + 7 > len(lowered):
        raise ValueError("wrong prefix")
    try:
        data = [_BECH32.index(c) for c in lowered[pos + 1:]]
    except ValueError:
        raise ValueError("invalid character")
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _polymod(expanded + data) != 1:
        raise ValueError("bad checksum")
    acc = bits = 0
    out = bytearray()
    for value in data[:-6]:
        acc = (acc << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        raise ValueError("bad padding")
    return bytes(out)


def _x25519_key(text: str, hrp: str) -> bytes:
    key = bech32_decode(text.strip(), hrp)
    if len(key) != 32:
        raise ValueError("not a 32-byte X25519 key")
    return key


def x25519_recipient_key(text: str) -> bytes:
    """The raw public key of an ``age1...`` recipient."""
    return _x25519_key(text, "age")


def x25519_identity_key(text: str) -> bytes:
    """The raw secret of an ``AGE-SECRET-KEY-1...`` identity."""
    return _x25519_key(text, "age-secret-key-")


def x25519_stanza(recipient: bytes, file_key: bytes) -> Stanza:
    """The file key wrapped for one X25519 recipient (a fresh ephemeral share each time)."""
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    wrap = hkdf(shared, share + recipient, X25519_LABEL)
    return Stanza("X25519", [b64(share).decode()], ChaCha20Poly1305(wrap).encrypt(_ZERO_NONCE, file_key, None))


def unwrap_x25519(header: Header, identities: Sequence[bytes]) -> bytes:
    """The file key, unwrapped by one of the X25519 ``identities``; :class:`AgeNoMatch` otherwise."""
    if header.is_scrypt:
        raise AgeNoMatch("the archive is passphrase-encrypted: use --passphrase")
    for stanza in header.stanzas:
        if stanza.type != "X25519":
            continue  # other recipient types and age's "grease" stanzas
        if len(stanza.args) != 1 or len(stanza.body) != 32:
            raise AgeFormatError("malformed X25519 stanza")
        share = unb64(stanza.args[0].encode())
        if len(share) != 32:
            raise AgeFormatError("malformed X25519 stanza")
        for secret in identities:
            key = X25519PrivateKey.from_private_bytes(secret)
            try:
                shared = key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:
                continue  # low-order point: not for us
            wrap = hkdf(shared, share + key.public_key().public_bytes_raw(), X25519_LABEL)
            try:
                file_key = ChaCha20Poly1305(wrap).decrypt(_ZERO_NONCE, stanza.body, None)
            except InvalidTag:
                continue
            if len(file_key) != FILE_KEY_SIZE:
                raise AgeFormatError("malformed X25519 stanza")
            header.check_mac(file_key)
            return file_key
    raise AgeNoMatch("no identity given matches a recipient of this archive")


def split_identities(identities: Sequence[Any]) -> tuple[list[bytes], list[Any]]:
    """(raw X25519 secrets this package decrypts with, other identities for pyrage)."""
    x25519_keys: list[bytes] = []
    others: list[Any] = []
    for identity in identities:
        text = str(identity)
        if text.startswith("AGE-SECRET-KEY-1"):
            x25519_keys.append(x25519_identity_key(text))
        else:
            others.append(identity)
    return x25519_keys, others


# --------------------------------------------------------------------------- SSH, through pyrage


def pyrage_encrypt(blocks: Iterator[bytes], out: IO[bytes], recipients: Sequence[Any]) -> None:
    """Encrypt ``blocks`` to pyrage recipient objects (SSH keys) with pyrage's streaming API.

    What the blocks or ``out`` raised (a case file that changed, a full disk, an interrupt) is
    raised as it was: pyrage reports it only as text inside its own ``EncryptError``.
    """
    import pyrage

    reader, writer = IterReader(blocks), SinkWriter(out)
    try:
        pyrage.encrypt_io(reader, writer, list(recipients))
    except pyrage.EncryptError as exc:
        cause = reader.error or writer.error
        if cause is not None:
            raise cause
        raise ArchiveError(f"age encryption failed: {exc}")  # pragma: no cover - only with unusable recipients


def _describe_pyrage_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "decryption error" in text.lower():
        return "a payload chunk failed authentication (archive damaged or truncated)"
    return f"age: {text}"


def pyrage_decryption(source: HashingReader, header: Header, identities: Sequence[Any]) -> Decryption:
    """Decrypt ``source`` (at its start) with pyrage on a thread that writes into a pipe."""
    import pyrage

    # Try the header first on its own, so "no identity matches" is known before any thread runs.
    probe = io.BytesIO(header.encoded() + b"\0" * NONCE_SIZE)
    try:
        pyrage.decrypt_io(probe, NullWriter(), list(identities))
    except pyrage.DecryptError as exc:
        text = str(exc)
        lowered = text.lower()
        if "no matching keys" in lowered:
            source.close_raw()
            raise AgeNoMatch("no identity given matches a recipient of this archive")
        if "header" in lowered:
            source.close_raw()
            raise AgeFormatError(f"age header is damaged ({text})")
        # Anything else means the key matched and the probe ran out of (payload) bytes, as expected.
    except OSError:
        pass  # the key matched; the probe has no payload, as expected
    read_fd, write_fd = os.pipe()
    errors: list[AgeFormatError] = []

    def run() -> None:
        try:
            with open(write_fd, "wb", buffering=0) as sink:
                pyrage.decrypt_io(source, SinkWriter(sink), list(identities))
        except BrokenPipeError:
            pass  # the reader stopped early (it reports its own reason)
        except AgeFormatError as exc:
            errors.append(exc)
        except BaseException as exc:
            errors.append(AgeFormatError(_describe_pyrage_error(exc)))

    thread = threading.Thread(target=run, name="age-decrypt", daemon=True)
    thread.start()
    reader = open(read_fd, "rb", buffering=1 << 20)
    return Decryption(reader, source, header, thread, errors)
