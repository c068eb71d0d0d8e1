"""Streaming age encryption and decryption, in constant memory, in every mode.

* Recipients (X25519 ``age1...``, ``ssh-ed25519``, ``ssh-rsa``): pyrage's ``encrypt_io`` /
  ``decrypt_io`` stream through file objects. Decryption runs pyrage in a worker thread that
  writes into a pipe, so the caller reads plaintext as an ordinary stream.
* Passphrase (scrypt): pyrage's passphrase API takes and returns ``bytes`` only, which would
  hold the whole archive in memory. This module therefore implements the age v1 format for the
  scrypt recipient itself, from the specification (https://age-encryption.org/v1), with
  ``cryptography``'s primitives: the scrypt stanza, the HMAC-SHA-256 header MAC and the STREAM
  payload (ChaCha20-Poly1305, 64 KiB chunks, HKDF-SHA-256 keys). The output is a standard age
  file that ``age -d`` opens; interop tests drive the real ``age`` CLI both ways.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import queue
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evidence_kit.errors import ArchiveError, WrongKeyError

AGE_MAGIC = b"age-encryption.org/v1\n"
SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
CHUNK = 64 * 1024
TAG = 16
ENC_CHUNK = CHUNK + TAG
# age's default work factor (log2 of scrypt's N) and the most we accept when decrypting, as the
# age CLI does (a hostile header must not make us allocate gigabytes).
DEFAULT_SCRYPT_LOG_N = 18
MAX_SCRYPT_LOG_N = 22
MAX_HEADER = 64 * 1024


class AgeFormatError(Exception):
    """The bytes are not a well-formed age file (header syntax, MAC, a chunk, truncation)."""


class AgeNoMatch(Exception):
    """No identity / passphrase given can unwrap the file key."""


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _unb64(text: bytes) -> bytes:
    """age's strict base64: standard alphabet, no padding, canonical."""
    if b"=" in text or b"\r" in text or b"\n" in text:
        raise AgeFormatError("malformed base64 in header")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise AgeFormatError("malformed base64 in header")
    if _b64(data) != text:
        raise AgeFormatError("non-canonical base64 in header")
    return data


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _scrypt_key(passphrase: bytes, salt: bytes, log_n: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(passphrase, salt=SCRYPT_LABEL + salt, n=n, r=8, p=1, dklen=32,
                          maxmem=128 * 8 * n + (16 << 20))


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# --------------------------------------------------------------------------- header model


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
            mac = _unb64(current[4:])
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
            body.extend(_unb64(body_line) if body_line else b"")
            if len(body_line) < 64:
                break
        stanzas.append(Stanza(strs[0], strs[1:], bytes(body)))
        current = line()


def _header_bytes(stanzas: Sequence[Stanza]) -> bytes:
    out = bytearray(AGE_MAGIC)
    for st in stanzas:
        out += b"-> " + " ".join([st.type, *st.args]).encode("ascii") + b"\n"
        body = _b64(st.body)
        for i in range(0, len(body), 64):
            out += body[i:i + 64] + b"\n"
        if len(body) % 64 == 0:
            out += b"\n"
    out += b"---"
    return bytes(out)


def _check_mac(header: Header, file_key: bytes) -> None:
    expected = hmac.new(_hkdf(file_key, b"", b"header"), header.raw_without_mac, "sha256").digest()
    if not hmac.compare_digest(expected, header.mac):
        raise AgeFormatError("header MAC is invalid (header damaged)")


def unwrap_scrypt(header: Header, passphrase: bytes) -> bytes:
    """The file key of a passphrase-encrypted file; :class:`AgeNoMatch` if the passphrase is wrong."""
    if not header.is_scrypt:
        raise AgeNoMatch("the archive is not passphrase-encrypted")
    if len(header.stanzas) != 1:
        raise AgeFormatError("an scrypt stanza must be the only stanza")
    st = header.stanzas[0]
    if len(st.args) != 2 or not st.args[1].isdigit() or st.args[1].startswith("0"):
        raise AgeFormatError("malformed scrypt stanza")
    salt = _unb64(st.args[0].encode())
    log_n = int(st.args[1])
    if len(salt) != 16 or len(st.body) != 32:
        raise AgeFormatError("malformed scrypt stanza")
    if log_n > MAX_SCRYPT_LOG_N:
        raise AgeFormatError(f"scrypt work factor {log_n} is above the limit {MAX_SCRYPT_LOG_N}")
    wrap = _scrypt_key(passphrase, salt, log_n)
    try:
        file_key = ChaCha20Poly1305(wrap).decrypt(b"\0" * 12, st.body, None)
    except InvalidTag:
        raise AgeNoMatch("incorrect passphrase")
    _check_mac(header, file_key)
    return file_key


# --------------------------------------------------------------------------- X25519 recipients

X25519_LABEL = b"age-encryption.org/v1/X25519"
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


def x25519_recipient_key(text: str) -> bytes:
    key = bech32_decode(text.strip(), "age")
    if len(key) != 32:
        raise ValueError("not a 32-byte X25519 key")
    return key


def x25519_identity_key(text: str) -> bytes:
    key = bech32_decode(text.strip(), "age-secret-key-")
    if len(key) != 32:
        raise ValueError("not a 32-byte X25519 key")
    return key


def _wrap_x25519(recipient: bytes, file_key: bytes) -> Stanza:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    wrap = _hkdf(shared, share + recipient, X25519_LABEL)
    return Stanza("X25519", [_b64(share).decode()], ChaCha20Poly1305(wrap).encrypt(b"\0" * 12, file_key, None))


def unwrap_x25519(header: Header, identities: Sequence[bytes]) -> bytes:
    """The file key, unwrapped by one of the X25519 ``identities``; :class:`AgeNoMatch` otherwise."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    if header.is_scrypt:
        raise AgeNoMatch("the archive is passphrase-encrypted: use --passphrase")
    for stanza in header.stanzas:
        if stanza.type != "X25519":
            continue  # other recipient types and age's "grease" stanzas
        if len(stanza.args) != 1 or len(stanza.body) != 32:
            raise AgeFormatError("malformed X25519 stanza")
        share = _unb64(stanza.args[0].encode())
        if len(share) != 32:
            raise AgeFormatError("malformed X25519 stanza")
        for secret in identities:
            key = X25519PrivateKey.from_private_bytes(secret)
            try:
                shared = key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:
                continue  # low-order point: not for us
            wrap = _hkdf(shared, share + key.public_key().public_bytes_raw(), X25519_LABEL)
            try:
                file_key = ChaCha20Poly1305(wrap).decrypt(b"\0" * 12, stanza.body, None)
            except InvalidTag:
                continue
            if len(file_key) != 16:
                raise AgeFormatError("malformed X25519 stanza")
            _check_mac(header, file_key)
            return file_key
    raise AgeNoMatch("no identity given matches a recipient of this archive")


# --------------------------------------------------------------------------- STREAM payload


class StreamEncryptor:
    """A write-only stream producing a standard age file into ``out`` for the given stanzas."""

    def __init__(self, out: IO[bytes], file_key: bytes, stanzas: Sequence[Stanza]) -> None:
        header = _header_bytes(stanzas)
        mac = hmac.new(_hkdf(file_key, b"", b"header"), header, "sha256").digest()
        nonce = secrets.token_bytes(16)
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._out = out
        self._buf = bytearray()
        self._counter = 0
        self._closed = False
        out.write(header + b" " + _b64(mac) + b"\n" + nonce)

    @classmethod
    def for_passphrase(cls, out: IO[bytes], passphrase: bytes, log_n: int = DEFAULT_SCRYPT_LOG_N) -> StreamEncryptor:
        if not 1 <= log_n <= MAX_SCRYPT_LOG_N:
            raise ValueError(f"scrypt work factor must be 1..{MAX_SCRYPT_LOG_N}")
        file_key = secrets.token_bytes(16)
        salt = secrets.token_bytes(16)
        wrapped = ChaCha20Poly1305(_scrypt_key(passphrase, salt, log_n)).encrypt(b"\0" * 12, file_key, None)
        return cls(out, file_key, [Stanza("scrypt", [_b64(salt).decode(), str(log_n)], wrapped)])

    @classmethod
    def for_x25519(cls, out: IO[bytes], recipients: Sequence[bytes]) -> StreamEncryptor:
        file_key = secrets.token_bytes(16)
        return cls(out, file_key, [_wrap_x25519(r, file_key) for r in recipients])

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if not self._buf and len(data) > CHUNK:
            # Fast path: encrypt whole chunks straight from the caller's buffer, keep the tail.
            view = memoryview(data)
            full = (len(view) - 1) // CHUNK * CHUNK
            for start in range(0, full, CHUNK):
                self._emit(view[start:start + CHUNK], last=False)
            self._buf += view[full:]
            return len(data)
        self._buf += data
        # Keep at least one byte back: the final chunk must be flagged as last, and may only be
        # known when close() is called.
        while len(self._buf) > CHUNK:
            self._emit(memoryview(self._buf)[:CHUNK], last=False)
            del self._buf[:CHUNK]
        return len(data)

    def _emit(self, chunk: bytes | memoryview, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._counter, last), bytes(chunk), None))
        self._counter += 1

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buf), last=True)
            self._buf.clear()
            self._closed = True


class PayloadReader(io.RawIOBase):
    """Plaintext of an age STREAM payload, authenticated chunk by chunk, read sequentially."""

    def __init__(self, src: IO[bytes], file_key: bytes) -> None:
        nonce = _read_exact(src, 16)
        if len(nonce) != 16:
            raise AgeFormatError("payload is truncated (no nonce)")
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._src = src
        self._counter = 0
        self._pending = _read_exact(src, ENC_CHUNK)
        self._plain = b""
        self._pos = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        current = self._pending
        if len(current) < TAG:
            raise AgeFormatError("payload is truncated")
        following = _read_exact(self._src, ENC_CHUNK) if len(current) == ENC_CHUNK else b""
        last = not following
        try:
            plain = self._aead.decrypt(_nonce(self._counter, last), current, None)
        except InvalidTag:
            raise AgeFormatError(f"payload chunk {self._counter} failed authentication "
                                 "(archive damaged or truncated)")
        if last and not plain and self._counter > 0:
            raise AgeFormatError("payload ends with an empty chunk")
        self._counter += 1
        self._pending = following
        self._plain, self._pos = plain, 0
        self._done = last

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._plain):
            if self._done:
                return 0
            self._next()
        n = min(len(view), len(self._plain) - self._pos)
        view[:n] = self._plain[self._pos:self._pos + n]
        self._pos += n
        return n


def _read_exact(src: IO[bytes], n: int) -> bytes:
    parts = []
    left = n
    while left:
        block = src.read(left)
        if not block:
            break
        parts.append(block)
        left -= len(block)
    return b"".join(parts)


# --------------------------------------------------------------------------- public API


class HashingReader(io.RawIOBase):
    """Reads from a file and keeps the SHA-256 and size of everything read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        if not data:
            return 0
        n = len(data)
        view[:n] = data
        self.sha256.update(data)
        self.size += n
        return n

    @property
    def closed_raw(self) -> bool:
        return bool(self._raw.closed)

    def close_raw(self) -> None:
        self._raw.close()

    def drain(self) -> None:
        """Read to the end (so the hash covers the whole file)."""
        while block := self._raw.read(1 << 20):
            self.sha256.update(block)
            self.size += len(block)


class HashingWriter(io.RawIOBase):
    """Writes to a file and keeps the SHA-256 and size of everything written."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._raw.write(data)
        self.sha256.update(data)
        n = len(data)
        self.size += n
        return n


class _IterReader(io.RawIOBase):
    """A readable stream over an iterator of byte blocks (pull model, for pyrage)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._it = blocks
        self._cur = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._cur):
            nxt = next(self._it, None)
            if nxt is None:
                return 0
            self._cur, self._pos = nxt, 0
        n = min(len(view), len(self._cur) - self._pos)
        view[:n] = self._cur[self._pos:self._pos + n]
        self._pos += n
        return n


def encrypt_stream(blocks: Iterator[bytes], out: IO[bytes], recipients: Sequence[Any] = (),
                   passphrase: bytes | None = None, scrypt_log_n: int = DEFAULT_SCRYPT_LOG_N,
                   recipient_texts: Sequence[str] = ()) -> None:
    """Encrypt the byte blocks into ``out`` as one age file, in constant memory.

    Passphrase and X25519-only recipients use this module's age writer, on a worker thread so
    encryption overlaps with reading and hashing (``cryptography`` and ``hashlib`` release the
    GIL). SSH recipients go through pyrage's streaming ``encrypt_io``.
    """
    if passphrase is not None:
        encryptor = StreamEncryptor.for_passphrase(out, passphrase, scrypt_log_n)
    elif recipient_texts and all(t.startswith("age1") for t in recipient_texts):
        encryptor = StreamEncryptor.for_x25519(out, [x25519_recipient_key(t) for t in recipient_texts])
    else:
        import pyrage

        try:
            pyrage.encrypt_io(_IterReader(blocks), out, list(recipients))
        except pyrage.EncryptError as exc:  # pragma: no cover - only with unusable recipients
            raise ArchiveError(f"age encryption failed: {exc}")
        return
    _pump(blocks, encryptor)


def _pump(blocks: Iterator[bytes], encryptor: StreamEncryptor) -> None:
    """Feed ``blocks`` to ``encryptor`` on a worker thread through a small bounded queue."""
    jobs: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while (block := jobs.get()) is not None:
                if not errors:
                    encryptor.write(block)
            if not errors:
                encryptor.close()
        except BaseException as exc:
            errors.append(exc)
            while jobs.get() is not None:  # keep draining so the producer never blocks
                pass

    thread = threading.Thread(target=work, name="age-encrypt", daemon=True)
    thread.start()
    try:
        for block in blocks:
            if errors:
                break
            jobs.put(block)
    except BaseException as exc:
        errors.insert(0, exc)
    finally:
        jobs.put(None)
        thread.join()
    if errors:
        raise errors[0]


class _ReadAhead(io.RawIOBase):
    """Reads ``source`` on a worker thread (decrypting as it goes), handing over 1 MiB blocks."""

    def __init__(self, source: IO[bytes]) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        self._cur = b""
        self._pos = 0
        self._done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name="age-decrypt", daemon=True)
        self._thread.start()

    def _run(self, source: IO[bytes]) -> None:
        try:
            while not self._stop.is_set():
                block = source.read(1 << 20)
                if not block:
                    break
                self._queue.put(block)
            self._queue.put(None)
        except BaseException as exc:
            self._queue.put(exc)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._cur):
            if self._done:
                return 0
            item = self._queue.get()
            if item is None:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._cur, self._pos = item, 0
        n = min(len(view), len(self._cur) - self._pos)
        view[:n] = self._cur[self._pos:self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            while self._thread.is_alive():
                try:
                    self._queue.get(timeout=0.05)
                except queue.Empty:
                    pass
            self._thread.join()
        super().close()


@dataclass
class Decryption:
    """A plaintext stream being decrypted, and what is known about the ciphertext."""

    reader: IO[bytes]
    source: HashingReader
    header: Header | None
    _thread: threading.Thread | None = None
    _errors: list[BaseException] = field(default_factory=list)

    def finish(self) -> None:
        """Consume the rest, wait for the decryptor; raise :class:`AgeFormatError` on any damage."""
        try:
            while self.reader.read(1 << 20):
                pass
        finally:
            self.close()
        if self._errors:
            exc = self._errors[0]
            if isinstance(exc, AgeFormatError):
                raise exc
            raise AgeFormatError(_describe_pyrage_error(exc))

    def close(self) -> None:
        """Stop reading, wait for the decryptor, then hash the rest of the ciphertext (so the
        digest always covers the whole file) and close it. Safe to call twice."""
        try:
            self.reader.close()
        finally:
            if self._thread is not None:
                self._thread.join()
                self._thread = None
            if not self.source.closed_raw:
                try:
                    self.source.drain()
                finally:
                    self.source.close_raw()


def _describe_pyrage_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "decryption error" in text.lower():
        return "a payload chunk failed authentication (archive damaged or truncated)"
    return f"age: {text}"


def peek_header(path: str | os.PathLike[str]) -> Header:
    with open(path, "rb") as fh:
        return read_header(fh)


def open_decryption(path: str | os.PathLike[str], identities: Sequence[Any] = (),
                    passphrase: bytes | None = None) -> Decryption:
    """Start decrypting ``path``. Raises :class:`AgeNoMatch` for a key that cannot open it and
    :class:`AgeFormatError` for a damaged header; payload damage surfaces on read or ``finish``."""
    raw = open(path, "rb")
    source = HashingReader(raw)
    buffered = io.BufferedReader(source, 1 << 20)
    try:
        header = read_header(buffered)
        if header.is_scrypt:
            if passphrase is None:
                raise AgeNoMatch("the archive is passphrase-encrypted: use --passphrase")
            file_key = unwrap_scrypt(header, passphrase)
            payload = PayloadReader(buffered, file_key)
            return Decryption(io.BufferedReader(_ReadAhead(cast(IO[bytes], payload)), 1 << 20), source, header)
        if passphrase is not None:
            raise AgeNoMatch("the archive is encrypted to recipient keys, not a passphrase: use --identity")
        x25519_keys, others = _split_identities(identities)
        if x25519_keys and any(st.type == "X25519" for st in header.stanzas):
            try:
                file_key = unwrap_x25519(header, x25519_keys)
            except AgeNoMatch:
                if not others:
                    raise
            else:
                payload = PayloadReader(buffered, file_key)
                return Decryption(io.BufferedReader(_ReadAhead(cast(IO[bytes], payload)), 1 << 20), source, header)
    except BaseException:
        raw.close()
        raise
    raw.seek(0)
    source = HashingReader(raw)
    return _pyrage_decryption(source, header, identities)


def _split_identities(identities: Sequence[Any]) -> tuple[list[bytes], list[Any]]:
    """(raw X25519 secrets this module decrypts with, other identities for pyrage)."""
    x25519_keys: list[bytes] = []
    others: list[Any] = []
    for identity in identities:
        text = str(identity)
        if text.startswith("AGE-SECRET-KEY-1"):
            x25519_keys.append(x25519_identity_key(text))
        else:
            others.append(identity)
    return x25519_keys, others


def _pyrage_decryption(source: HashingReader, header: Header, identities: Sequence[Any]) -> Decryption:
    import pyrage

    # Try the header first on its own, so "no identity matches" is known before any thread runs.
    probe = io.BytesIO(header.raw_without_mac + b" " + _b64(header.mac) + b"\n" + b"\0" * 16)
    try:
        pyrage.decrypt_io(probe, _NullWriter(), list(identities))
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
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with open(write_fd, "wb", buffering=0) as sink:
                pyrage.decrypt_io(source, _PipeWriter(sink), list(identities))
        except BrokenPipeError:
            pass  # the reader stopped early (it reports its own reason)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="age-decrypt", daemon=True)
    thread.start()
    reader = open(read_fd, "rb", buffering=1 << 20)
    return Decryption(reader, source, header, thread, errors)


class _NullWriter(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


class _PipeWriter(io.RawIOBase):
    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        while view:
            n = self._sink.write(view)
            view = view[n or 0:]
        return len(data)


def wrong_key_error(exc: AgeNoMatch) -> WrongKeyError:
    return WrongKeyError(f"this identity cannot open this archive ({exc})")
