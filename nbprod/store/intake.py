"""Putting files and bytes into the store's content-addressed objects, hashed while copied,
with the stat cache sparing unchanged files a second read."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import StoreError

__all__ = ["ObjectIntake"]


class ObjectIntake:
    """Hash and store files; a part of ``Store`` (``nbprod.store``), using its ``objects``,
    ``cache`` and ``db``."""

    def hash_file(self, path: str | os.PathLike) -> tuple[str, int]:
        """The ``(blake3 hash, size)`` of a file; unchanged files come from the stat cache.

        Raises
        ------
        StoreError
            When the file is missing, disappears or keeps changing while it is hashed.
        """
        return self.cache.hash_file(path)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` as an object; returns its hash."""
        digest = self.objects.write_bytes(bytes(data))
        self.index_object(digest, len(data))
        return digest

    def put_file(self, path: str | os.PathLike) -> str:
        """Copy a file into the object store (deduplicated); returns its hash.

        The bytes are hashed while they are copied, so the object always matches its name. A
        file that changes during the copy is copied again, so the hash returned is always that
        of a complete version of the file.

        Raises
        ------
        StoreError
            When the file cannot be read, or keeps changing over several attempts.
        """
        source = Path(os.path.abspath(path))
        for _ in range(3):
            before = self._stat_source(source)
            entry = self.cache.lookup(before)
            if entry is not None and entry.trusted_for(before) and self.objects.exists(
                    entry.hash):
                self.index_object(entry.hash, entry.size)
                return entry.hash
            started_ns = time.time_ns()
            digest, size = self.objects.copy_file(source)
            after = self._stat_source(source)
            if _same_file_state(before, after) and size == before.st_size:
                self.cache.record(source, before, digest, started_ns)
                self.index_object(digest, size)
                return digest
        raise StoreError(
            f"{source}: the file kept changing while it was being stored;"
            " record the run again once nothing writes to it"
        )

    @staticmethod
    def _stat_source(source: Path) -> os.stat_result:
        try:
            return os.stat(source)
        except FileNotFoundError:
            raise StoreError(f"{source}: the file does not exist, cannot store it") from None
        except OSError as exc:
            raise StoreError(f"{source}: cannot store the file: {exc.strerror}") from None

    def index_object(self, digest: str, size: int) -> None:
        """Record an object whose file is already in place (never before: no dangling rows)."""
        self.db.execute_write(
            "INSERT OR IGNORE INTO objects (hash, size, added) VALUES (?, ?, ?)",
            (digest, size, time.time()),
        )


def _same_file_state(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (
        b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)
