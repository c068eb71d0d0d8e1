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
    """SHA-256 here, SHA-512 on a worker thread (hashlib releases the GIL): both in one pass."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()
        self._pending: Future[None] | None = None

    def update(self, block: bytes) -> None:
        previous = self._pending
        self._pending = self._pool.submit(self.sha512.update, block)
        self.sha256.update(block)
        if previous is not None:
            previous.result()

    def finish(self, size: int) -> FileDigest:
        if self._pending is not None:
            self._pending.result()
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
    try:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|", errorlevel=2)  # noqa: SIM115
        except tarfile.TarError as exc:
            raise ArchiveError(f"not a tar stream ({exc})")
        seen: set[str] = set()
        dirs: set[str] = set()
        count = 0
        try:
            for member in tar:
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
                if member.isdir():
                    if rel in seen:
                        raise UnsafeArchive(f"member {member.name[:80]!r} is a directory and a file")
                    _make_dirs(dest, parts)
                    dirs.add(rel)
                    continue
                if not member.isreg() or member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    kind = ("link" if member.issym() or member.islnk() else
                            "device" if member.isdev() else f"type {member.type!r}")
                    raise UnsafeArchive(f"member {member.name[:80]!r} is a {kind}: only files and folders allowed")
                if len(parts) < 2:
                    raise UnsafeArchive(f"member {member.name[:80]!r} is a file at the top level, not in a bag")
                if rel in seen or rel in dirs:
                    raise UnsafeArchive(f"duplicate member {member.name[:80]!r}")
                if member.size < 0 or member.size > limit:
                    raise UnsafeArchive(f"member {member.name[:80]!r} claims {member.size} bytes, more than "
                                        f"{'the archive holds' if limit == archive_size else 'the limit'} ({limit})")
                result.total_bytes += member.size
                if result.total_bytes > archive_size:
                    raise UnsafeArchive("members claim more bytes than the archive holds")
                seen.add(rel)
                parent = _make_dirs(dest, parts[:-1])
                src = tar.extractfile(member)
                if src is None:  # pragma: no cover - regular files always have a reader
                    raise UnsafeArchive(f"member {member.name[:80]!r} has no data")
                result.files[rel] = _write_member(parent, parts[-1], src, member.size, workers)
        except tarfile.TarError as exc:
            raise ArchiveError(f"malformed tar stream ({' '.join(str(exc).split())[:160]})")
        except (EOFError, UnicodeError) as exc:
            raise ArchiveError(f"malformed tar stream ({exc.__class__.__name__})")
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


def _write_member(parent: Path, name: str, src: IO[bytes], size: int, pool: ThreadPoolExecutor) -> FileDigest:
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
