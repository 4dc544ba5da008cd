"""Content hashes (blake3, multithreaded) and the stat cache that avoids re-reading files.

Hashes are strings ``blake3:<64 hex digits>``, computed on all cores. Large files that were not
written in the last two seconds are hashed through a memory map (``blake3.update_mmap``), which
skips the copy a ``read()`` makes and so reaches the hash's own speed; other files are read in
16 MiB chunks.

The stat cache remembers ``(dev, inode) -> (size, mtime_ns, hash)`` like DVC's state database, so
an unchanged 1 GiB input is not read again. Two rules keep it honest:

* **racy mtime** (as git's "racily clean" index entries): an entry whose file mtime lies within
  ``RACY_WINDOW_NS`` of the moment it was recorded is never trusted, because a write in the same
  timestamp tick could have changed the content without changing ``(size, mtime)``;
* **stable reads**: a file is stat'ed before and after hashing; if it changed meanwhile it is
  hashed again, and after a few attempts the caller gets a ``StoreError``, never a hash of
  content that did not exist.

Limitation (documented in docs/store.md): a file rewritten with the same size whose mtime is then
restored (``touch -d``, some copy tools) looks unchanged; ``nbprod store verify --rehash`` finds it.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import blake3

from ..errors import StoreError
from .db import Database

__all__ = [
    "HASH_PREFIX",
    "RACY_WINDOW_NS",
    "CacheEntry",
    "StatCache",
    "hash_bytes",
    "hash_path",
    "is_hash",
    "use_mmap",
]

HASH_PREFIX = "blake3:"
#: Mtime granularity assumed for any file system (FAT has 2 s); entries this fresh are re-hashed.
RACY_WINDOW_NS = 2_000_000_000
#: Files at least this large (and not freshly written) are memory-mapped.
MMAP_THRESHOLD = 4 * 2**20
#: Read size for files hashed without a memory map (blake3 uses all cores per chunk).
_READ_CHUNK = 16 * 2**20
_STABLE_ATTEMPTS = 3


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """The ``blake3:<hex>`` hash of in-memory data."""
    return HASH_PREFIX + blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()


def is_hash(text: object) -> bool:
    """True when ``text`` looks like a hash this store produces."""
    if not isinstance(text, str) or not text.startswith(HASH_PREFIX):
        return False
    digest = text[len(HASH_PREFIX):]
    return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _stat(path: Path) -> os.stat_result:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise StoreError(f"{path}: the file disappeared before it could be hashed") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the file to hash it: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{path}: not a regular file, cannot hash it")
    return st


def use_mmap(st: os.stat_result, now_ns: int | None = None) -> bool:
    """True when a file should be hashed through a memory map.

    Only large files that were not written within the last ``RACY_WINDOW_NS``: a mapped file
    truncated by another program kills the reading process (SIGBUS), and files being written
    are the ones likely to be truncated, so those are read with plain reads instead.
    """
    now = time.time_ns() if now_ns is None else now_ns
    return st.st_size >= MMAP_THRESHOLD and now - st.st_mtime_ns > RACY_WINDOW_NS


def _hash_once(path: Path, st: os.stat_result) -> str:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    if use_mmap(st):
        hasher.update_mmap(path)
        return HASH_PREFIX + hasher.hexdigest()
    buffer = bytearray(min(max(st.st_size, 1), _READ_CHUNK))
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(view):
            hasher.update(view[:count])
    return HASH_PREFIX + hasher.hexdigest()


def hash_path(path: str | os.PathLike) -> tuple[str, int, os.stat_result]:
    """Hash a file whose content stays put while it is read.

    Returns
    -------
    (hash, size, stat)
        The hash, the size in bytes, and the stat taken before hashing (identical to the one
        taken after).

    Raises
    ------
    StoreError
        When the file is missing, unreadable, not a regular file, disappears while being
        hashed, or keeps changing over several attempts.
    """
    target = Path(path)
    for _ in range(_STABLE_ATTEMPTS):
        before = _stat(target)
        try:
            digest = _hash_once(target, before)
        except FileNotFoundError:
            raise StoreError(f"{target}: the file disappeared while it was being hashed") from None
        except OSError as exc:
            raise StoreError(f"{target}: reading failed while hashing: {exc}") from None
        try:
            after = os.stat(target)
        except FileNotFoundError:
            raise StoreError(f"{target}: the file disappeared while it was being hashed") from None
        if _signature(before) == _signature(after):
            return digest, before.st_size, before
    raise StoreError(
        f"{target}: the file kept changing while it was being hashed;"
        " record the run again once nothing writes to it"
    )


@dataclass(frozen=True)
class CacheEntry:
    """One stat-cache row: what a file looked like when its hash was computed."""

    dev: int
    inode: int
    path: str
    size: int
    mtime_ns: int
    hash: str
    recorded_ns: int

    def trusted_for(self, st: os.stat_result) -> bool:
        """True when ``st`` matches this entry and the entry is not racily recorded."""
        if _signature(st) != (self.dev, self.inode, self.size, self.mtime_ns):
            return False
        return self.recorded_ns - self.mtime_ns > RACY_WINDOW_NS


class StatCache:
    """The ``stat_cache`` table: hash a file only when its (dev, inode, size, mtime) changed."""

    def __init__(self, db: Database):
        self._db = db

    def lookup(self, st: os.stat_result) -> CacheEntry | None:
        """The cache entry for the file ``st`` describes, if any (trusted or not)."""
        rows = self._db.query(
            "SELECT dev, inode, path, size, mtime_ns, hash, recorded_ns FROM stat_cache"
            " WHERE dev = ? AND inode = ?",
            (st.st_dev, st.st_ino),
        )
        return CacheEntry(*rows[0]) if rows else None

    def record(self, path: Path, st: os.stat_result, digest: str, recorded_ns: int) -> None:
        """Remember that the file described by ``st`` hashed to ``digest`` at ``recorded_ns``."""
        self._db.execute_write(
            "INSERT OR REPLACE INTO stat_cache"
            " (dev, inode, path, size, mtime_ns, hash, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (st.st_dev, st.st_ino, str(path), st.st_size, st.st_mtime_ns, digest, recorded_ns),
        )

    def forget(self, entry: CacheEntry) -> None:
        """Drop one entry (``verify --repair`` removes entries that lie about their file)."""
        self._db.execute_write(
            "DELETE FROM stat_cache WHERE dev = ? AND inode = ?", (entry.dev, entry.inode)
        )

    def entries(self) -> list[CacheEntry]:
        """Every entry, for ``verify --rehash``."""
        rows = self._db.query(
            "SELECT dev, inode, path, size, mtime_ns, hash, recorded_ns FROM stat_cache"
        )
        return [CacheEntry(*row) for row in rows]

    def hash_file(self, path: str | os.PathLike) -> tuple[str, int]:
        """The hash and size of ``path``, from the cache when the file is provably unchanged.

        Raises
        ------
        StoreError
            When the file cannot be hashed (see ``hash_path``).
        """
        target = Path(os.path.abspath(path))
        st = _stat(target)
        entry = self.lookup(st)
        if entry is not None and entry.trusted_for(st):
            return entry.hash, entry.size
        # The time is taken before reading: a write during the read makes the entry racy.
        started_ns = time.time_ns()
        digest, size, st = hash_path(target)
        self.record(target, st, digest, started_ns)
        return digest, size
