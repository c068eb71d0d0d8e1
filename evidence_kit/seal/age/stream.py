"""The age payload (STREAM) and the stream wrappers that keep seal and verify in constant memory.

STREAM: a 16-byte nonce, then 64 KiB chunks sealed with ChaCha20-Poly1305 under
HKDF-SHA-256(file key, nonce, "payload"), the chunk counter in the nonce and a last-chunk flag.
The wrappers move bytes between threads (encryption, decryption and hashing each run on their
own thread: ``cryptography`` and ``hashlib`` release the GIL) through small bounded queues.
"""

from __future__ import annotations

import hashlib
import io
import queue
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from evidence_kit.seal.age.format import AgeFormatError, Header, Stanza, header_bytes, header_mac, hkdf, mac_line

CHUNK = 64 * 1024
TAG = 16
ENC_CHUNK = CHUNK + TAG
NONCE_SIZE = 16
READ_SIZE = 1 << 20  # what the reading threads read and hand over at a time


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def read_exact(src: IO[bytes], n: int) -> bytes:
    """Up to ``n`` bytes: fewer only at the end of ``src`` (a raw stream may return short reads)."""
    parts = []
    left = n
    while left:
        block = src.read(left)
        if not block:
            break
        parts.append(block)
        left -= len(block)
    return b"".join(parts)


class StreamEncryptor:
    """A write-only stream producing a standard age file into ``out`` for the given stanzas."""

    def __init__(self, out: IO[bytes], file_key: bytes, stanzas: Sequence[Stanza]) -> None:
        header = header_bytes(stanzas)
        nonce = secrets.token_bytes(NONCE_SIZE)
        self._aead = ChaCha20Poly1305(hkdf(file_key, nonce, b"payload"))
        self._out = out
        self._buf = bytearray()
        self._counter = 0
        self._closed = False
        out.write(mac_line(header, header_mac(file_key, header)) + nonce)

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
        nonce = read_exact(src, NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise AgeFormatError("payload is truncated (no nonce)")
        self._aead = ChaCha20Poly1305(hkdf(file_key, nonce, b"payload"))
        self._src = src
        self._counter = 0
        self._pending = read_exact(src, ENC_CHUNK)
        self._plain = b""
        self._pos = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        current = self._pending
        if len(current) < TAG:
            raise AgeFormatError("payload is truncated")
        following = read_exact(self._src, ENC_CHUNK) if len(current) == ENC_CHUNK else b""
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


# --------------------------------------------------------------------------- stream wrappers


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
        while block := self._raw.read(READ_SIZE):
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


class IterReader(io.RawIOBase):
    """A readable stream over an iterator of byte blocks (pull model, for pyrage).

    ``error`` keeps what the iterator raised: pyrage replaces it with its own ``EncryptError``.
    """

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._it = blocks
        self._cur = b""
        self._pos = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._cur):
            try:
                nxt = next(self._it, None)
            except BaseException as exc:
                self.error = exc
                raise
            if nxt is None:
                return 0
            self._cur, self._pos = nxt, 0
        n = min(len(view), len(self._cur) - self._pos)
        view[:n] = self._cur[self._pos:self._pos + n]
        self._pos += n
        return n


class NullWriter(io.RawIOBase):
    """Accepts and drops everything (a header probe's output)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


class SinkWriter(io.RawIOBase):
    """Writes everything it is given into ``sink`` (a pipe may take a write in parts).

    ``error`` keeps what the sink raised (a full disk): pyrage replaces it with its own error.
    """

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self.error: BaseException | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        try:
            while view:
                n = self._sink.write(view)
                view = view[n or 0:]
        except BaseException as exc:
            self.error = exc
            raise
        return len(data)


def pump(blocks: Iterator[bytes], encryptor: StreamEncryptor) -> None:
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


class ReadAhead(io.RawIOBase):
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
                block = source.read(READ_SIZE)
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
    """A plaintext stream being decrypted, and what is known about the ciphertext.

    ``_thread`` and ``_errors`` belong to a decryptor that runs apart from the reader (pyrage's);
    it records each problem as an :class:`AgeFormatError` in the reader's words.
    """

    reader: IO[bytes]
    source: HashingReader
    header: Header | None
    _thread: threading.Thread | None = None
    _errors: list[AgeFormatError] = field(default_factory=list)

    @classmethod
    def of_payload(cls, source: HashingReader, header: Header, ciphertext: IO[bytes], file_key: bytes) -> Decryption:
        """Decrypt the STREAM payload that follows ``header`` in ``ciphertext`` on a read-ahead thread."""
        payload = PayloadReader(ciphertext, file_key)
        return cls(io.BufferedReader(ReadAhead(cast(IO[bytes], payload)), READ_SIZE), source, header)

    def finish(self) -> None:
        """Consume the rest, wait for the decryptor; raise :class:`AgeFormatError` on any damage."""
        try:
            while self.reader.read(READ_SIZE):
                pass
        finally:
            self.close()
        if self._errors:
            raise self._errors[0]

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
