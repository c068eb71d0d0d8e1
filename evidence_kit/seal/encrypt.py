"""Streaming age encryption and decryption, in constant memory, in every mode: the front door.

seal and verify call only :func:`encrypt_stream` and :func:`open_decryption`; which recipient
code and which payload reader serve a file is decided here and nowhere else:

* Passphrase (scrypt) and X25519 (``age1...``): this package's own age writer and reader
  (:mod:`.age.recipients` wraps the file key, :mod:`.age.stream` carries the payload), built
  from the specification (https://age-encryption.org/v1) with ``cryptography``'s primitives.
  The output is a standard age file that ``age -d`` opens; interop tests drive the real ``age``
  CLI both ways.
* SSH recipients and identities (``ssh-ed25519``, ``ssh-rsa``): pyrage's streaming API.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from typing import IO, Any

from evidence_kit.seal.age.format import AgeNoMatch, read_header
from evidence_kit.seal.age.recipients import (
    DEFAULT_SCRYPT_LOG_N,
    new_file_key,
    pyrage_decryption,
    pyrage_encrypt,
    scrypt_stanza,
    split_identities,
    unwrap_scrypt,
    unwrap_x25519,
    x25519_recipient_key,
    x25519_stanza,
)
from evidence_kit.seal.age.stream import READ_SIZE, Decryption, HashingReader, StreamEncryptor, pump


def encrypt_stream(blocks: Iterator[bytes], out: IO[bytes], recipients: Sequence[Any] = (),
                   passphrase: bytes | None = None, scrypt_log_n: int = DEFAULT_SCRYPT_LOG_N,
                   recipient_texts: Sequence[str] = ()) -> None:
    """Encrypt the byte blocks into ``out`` as one age file, in constant memory.

    Passphrase and X25519-only recipients use this package's age writer, on a worker thread so
    encryption overlaps with reading and hashing (``cryptography`` and ``hashlib`` release the
    GIL). SSH recipients go through pyrage's streaming ``encrypt_io``.
    """
    file_key = new_file_key()
    if passphrase is not None:
        stanzas = [scrypt_stanza(file_key, passphrase, scrypt_log_n)]
    elif recipient_texts and all(t.startswith("age1") for t in recipient_texts):
        stanzas = [x25519_stanza(x25519_recipient_key(t), file_key) for t in recipient_texts]
    else:
        pyrage_encrypt(blocks, out, recipients)
        return
    pump(blocks, StreamEncryptor(out, file_key, stanzas))


def open_decryption(path: str | os.PathLike[str], identities: Sequence[Any] = (),
                    passphrase: bytes | None = None) -> Decryption:
    """Start decrypting ``path``. Raises :class:`AgeNoMatch` for a key that cannot open it and
    :class:`AgeFormatError` for a damaged header; payload damage surfaces on read or ``finish``."""
    raw = open(path, "rb")
    source = HashingReader(raw)
    buffered = io.BufferedReader(source, READ_SIZE)
    try:
        header = read_header(buffered)
        if header.is_scrypt:
            if passphrase is None:
                raise AgeNoMatch("the archive is passphrase-encrypted: use --passphrase")
            return Decryption.of_payload(source, header, buffered, unwrap_scrypt(header, passphrase))
        if passphrase is not None:
            raise AgeNoMatch("the archive is encrypted to recipient keys, not a passphrase: use --identity")
        x25519_keys, others = split_identities(identities)
        if x25519_keys and any(st.type == "X25519" for st in header.stanzas):
            try:
                file_key = unwrap_x25519(header, x25519_keys)
            except AgeNoMatch:
                if not others:
                    raise
            else:
                return Decryption.of_payload(source, header, buffered, file_key)
    except BaseException:
        raw.close()
        raise
    raw.seek(0)
    return pyrage_decryption(HashingReader(raw), header, identities)
