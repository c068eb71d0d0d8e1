"""The tar stream inside the age file: written as a generator of blocks, read with strict
member safety.

Writing: POSIX pax format, regular files and directories only, owner 0/0, no user names.
Each file is read once in 1 MiB blocks; the caller gets the bytes it hashes and the tar blocks
at the same time (no second pass, constant memory).

Reading: every member is checked *before* anything is written. Refused: absolute paths,
``..`` or empty components, control characters, anything outside the one top-level folder,
links, devices, FIFOs, sparse or unknown types, duplicate names, and a member larger than the
archive that holds it (tar is not compressed, so such a header lies) or than ``max_member``.
Files are created with ``O_EXCL | O_NOFOLLOW`` below a folder that was empty: nothing is ever
written outside it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from evidence_kit.errors import ArchiveError

BLOCK = 512
READ_SIZE = 1 << 20
MAX_NAME = 1024
MAX_MEMBERS = 1_000_000


class UnsafeArchive(ArchiveError):
    """A tar member that must not be extracted."""


def _tarinfo(name: str, size: int, mtime: int, is_dir: bool) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = 0 if is_dir else size
    info.mtime = mtime
    info.mode = 0o755 if is_dir else 0o644
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def dir_member(name: str, mtime: int) -> bytes:
    return _tarinfo(name.rstrip("/") + "/", 0, mtime, True)


def bytes_member(name: str, data: bytes, mtime: int) -> Iterator[bytes]:
    yield _tarinfo(name, len(data), mtime, False)
    yield data
    if len(data) % BLOCK:
        yield b"\0" * (BLOCK - len(data) % BLOCK)


@dataclass
class FileDigest:
    size: int
    sha256: str
    sha512: str


class _Hasher:
    """SHA-256 here, SHA-512 on a worker thread (hashlib releases the GIL): both in one pass.

    Up to ``DEPTH`` blocks may be queued for SHA-512 (one worker runs them in order)."""

    DEPTH = 4

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()
        self._pending: deque[Future[None]] = deque()

    def update(self, block: bytes) -> None:
        self._pending.append(self._pool.submit(self.sha512.update, block))
        self.sha256.update(block)
        while len(self._pending) > self.DEPTH:
            self._pending.popleft().result()

    def finish(self, size: int) -> FileDigest:
        while self._pending:
            self._pending.popleft().result()
        return FileDigest(size, self.sha256.hexdigest(), self.sha512.hexdigest())


def file_member(name: str, path: Path, pool: ThreadPoolExecutor,
                done: Callable[[FileDigest], None]) -> Iterator[bytes]:
    """Tar blocks for one regular file, hashing it as it streams; ``done`` gets the digests."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb", buffering=0) as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ArchiveError(f"{path}: not a regular file")
        size = st.st_size
        yield _tarinfo(name, size, int(st.st_mtime), False)
        hasher = _Hasher(pool)
        left = size
        while left:
            block = fh.read(min(READ_SIZE, left))
            if not block:
                raise ArchiveError(f"{path}: file shrank while it was being sealed")
            left -= len(block)
            hasher.update(block)
            yield block
        if fh.read(1):
            raise ArchiveError(f"{path}: file grew while it was being sealed")
        if size % BLOCK:
            yield b"\0" * (BLOCK - size % BLOCK)
        done(hasher.finish(size))


def end_of_archive() -> bytes:
    return b"\0" * (BLOCK * 2)


# --------------------------------------------------------------------------- reading


def check_member_name(name: str) -> tuple[str, ...]:
    """The path components of a safe member name; raises :class:`UnsafeArchive` otherwise."""
    if not name or len(name) > MAX_NAME:
        raise UnsafeArchive(f"member name of length {len(name)} refused")
    if name.startswith("/"):
        raise UnsafeArchive(f"absolute member path {name[:80]!r} refused")
    if any(ord(ch) < 0x20 or ch in "\x7f\\" for ch in name):
        raise UnsafeArchive(f"member name {name[:80]!r} holds control characters or backslashes")
    parts = tuple(name.rstrip("/").split("/"))
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafeArchive(f"member path {name[:80]!r} has a {part or 'empty'!r} component")
    return parts


@dataclass
class Extracted:
    """What a safe extraction produced: the bag folder and the digests of every file."""

    root: Path
    bag_name: str | None = None
    files: dict[str, FileDigest] = field(default_factory=dict)  # path relative to the bag folder
    total_bytes: int = 0


@dataclass
class Member:
    name: str
    type: bytes
    size: int
    linkname: str


MAX_META = 1 << 20
ZERO_BLOCK = b"\0" * BLOCK
FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)


class TarReader:
    """A strict, streaming tar reader (ustar, pax and GNU long names) that reads member data in
    large blocks straight from the stream (``tarfile``'s stream mode reads in 10 KiB pieces)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._left = 0  # data bytes of the current member not yet read
        self._pad = 0

    def _read_exact(self, n: int, what: str) -> bytes:
        parts = []
        left = n
        while left:
            block = self._raw.read(left)
            if not block:
                raise ArchiveError(f"tar stream ends inside {what}")
            parts.append(block)
            left -= len(block)
        return b"".join(parts)

    def _meta(self, size: int, what: str) -> bytes:
        if size > MAX_META:
            raise UnsafeArchive(f"{what} of {size} bytes refused")
        data = self._read_exact(size + (-size % BLOCK), what)
        return data[:size]

    def _skip_rest(self) -> None:
        while self._left:
            self.read(min(READ_SIZE, self._left))
        if self._pad:
            self._read_exact(self._pad, "padding")
            self._pad = 0

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of the current member's data."""
        n = min(n, self._left)
        if n <= 0:
            return b""
        block = self._raw.read(n)
        if not block:
            raise ArchiveError("tar stream ends inside a member")
        self._left -= len(block)
        return block

    def members(self) -> Iterator[Member]:
        pax: dict[str, str] = {}
        longname: str | None = None
        while True:
            self._skip_rest()
            header = self._raw.read(BLOCK)
            if len(header) < BLOCK:
                if not header:
                    return  # end of stream at a header boundary
                header += self._read_exact(BLOCK - len(header), "a header")
            if header == ZERO_BLOCK:
                return
            try:
                info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
            except tarfile.HeaderError as exc:
                raise ArchiveError(f"malformed tar header ({' '.join(str(exc).split())})")
            if info.size < 0:
                raise UnsafeArchive("negative member size")
            if info.type == tarfile.XHDTYPE:
                pax.update(_pax_records(self._meta(info.size, "a pax header")))
                continue
            if info.type == tarfile.GNUTYPE_LONGNAME:
                longname = self._meta(info.size, "a long name").split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                continue
            if info.type == tarfile.GNUTYPE_LONGLINK:
                self._meta(info.size, "a long link name")
                continue
            if info.type == tarfile.XGLTYPE:
                raise UnsafeArchive("global pax headers are not accepted")
            name = pax.get("path", longname or info.name)
            try:
                size = int(pax["size"]) if "size" in pax else info.size
            except ValueError:
                raise ArchiveError("malformed pax size")
            if size < 0:
                raise UnsafeArchive("negative member size")
            member = Member(name, info.type, size if info.type in FILE_TYPES else 0,
                            pax.get("linkpath", info.linkname))
            pax, longname = {}, None
            if info.type in FILE_TYPES:
                self._left, self._pad = size, -size % BLOCK
            else:  # folders carry no data; links and devices are refused by the caller
                self._left = 0 if info.type == tarfile.DIRTYPE else info.size
                self._pad = -self._left % BLOCK
            yield member


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            raise ArchiveError("malformed pax header")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise ArchiveError("malformed pax header")
        if length <= space - pos or pos + length > len(data) or data[pos + length - 1:pos + length] != b"\n":
            raise ArchiveError("malformed pax header")
        key, sep, value = data[space + 1:pos + length - 1].partition(b"=")
        if not sep:
            raise ArchiveError("malformed pax record")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def safe_extract(stream: IO[bytes], dest: Path, archive_size: int, max_member: int | None = None,
                 pool: ThreadPoolExecutor | None = None) -> Extracted:
    """Extract the tar ``stream`` into the empty folder ``dest``, hashing every file.

    Raises :class:`UnsafeArchive` for a refused member and :class:`ArchiveError` for a
    malformed tar stream. ``dest`` must exist and be empty.
    """
    limit = archive_size if max_member is None else min(archive_size, max_member)
    result = Extracted(dest)
    own_pool = pool is None
    workers = pool or ThreadPoolExecutor(1, thread_name_prefix="sha512")
    reader = TarReader(stream)
    seen: set[str] = set()
    dirs: set[str] = set()
    count = 0
    try:
        for member in reader.members():
            count += 1
            if count > MAX_MEMBERS:
                raise UnsafeArchive(f"more than {MAX_MEMBERS} members")
            parts = check_member_name(member.name)
            top = parts[0]
            if result.bag_name is None:
                result.bag_name = top
            elif top != result.bag_name:
                raise UnsafeArchive(f"member {member.name[:80]!r} lies outside the bag folder {result.bag_name!r}")
            rel = "/".join(parts[1:])
            if member.type == tarfile.DIRTYPE:
                if rel in seen:
                    raise UnsafeArchive(f"member {member.name[:80]!r} is a directory and a file")
                _make_dirs(dest, parts)
                dirs.add(rel)
                continue
            if member.type not in FILE_TYPES:
                kind = ("link" if member.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) else
                        "device" if member.type in (tarfile.CHRTYPE, tarfile.BLKTYPE) else
                        f"type {member.type!r}")
                raise UnsafeArchive(f"member {member.name[:80]!r} is a {kind}: only files and folders allowed")
            if len(parts) < 2:
                raise UnsafeArchive(f"member {member.name[:80]!r} is a file at the top level, not in a bag")
            if rel in seen or rel in dirs:
                raise UnsafeArchive(f"duplicate member {member.name[:80]!r}")
            if member.size > limit:
                raise UnsafeArchive(f"member {member.name[:80]!r} claims {member.size} bytes, more than "
                                    f"{'the archive holds' if limit == archive_size else 'the limit'} ({limit})")
            result.total_bytes += member.size
            if result.total_bytes > archive_size:
                raise UnsafeArchive("members claim more bytes than the archive holds")
            seen.add(rel)
            parent = _make_dirs(dest, parts[:-1])
            result.files[rel] = _write_member(parent, parts[-1], reader, member.size, workers)
        if result.bag_name is None:
            raise ArchiveError("the archive holds no files")
        result.root = dest / result.bag_name
        return result
    finally:
        if own_pool:
            workers.shutdown(wait=True)


def _make_dirs(dest: Path, parts: tuple[str, ...]) -> Path:
    current = dest
    for part in parts:
        current = current / part
        try:
            os.mkdir(current, 0o755)
        except FileExistsError:
            st = os.lstat(current)
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafeArchive(f"{part!r} is both a file and a folder in the archive")
    return current


def _write_member(parent: Path, name: str, src: TarReader, size: int, pool: ThreadPoolExecutor) -> FileDigest:
    target = parent / name
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    hasher = _Hasher(pool)
    written = 0
    with os.fdopen(fd, "wb", buffering=0) as out:
        while written < size:
            block = src.read(min(READ_SIZE, size - written))
            if not block:
                raise ArchiveError(f"tar stream ends inside member {name!r}")
            hasher.update(block)
            view = memoryview(block)
            while view:
                n = out.write(view)
                view = view[n or 0:]
            written += len(block)
    return hasher.finish(size)
