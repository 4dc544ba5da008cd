"""The content-addressed object folder: ``objects/<2 hex>/<62 hex>``, read-only files.

An object is written to a temporary file in ``objects/``, fsync'ed, made read-only (0o444),
then renamed into place. A killed writer therefore leaves only a ``.nbprod-tmp-*`` file (removed by
``nbprod store verify --repair``), never a truncated object under a real hash. Two processes storing
the same content both rename a complete copy onto the same name, which is harmless. Copies are
hashed while they are written, so an object's name is always the hash of the bytes on disk even if
the source file changes during the copy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import blake3

from ..errors import StoreError
from ..fsutil import create_temporary, fsync_dir
from .crash import crashpoint
from .hashing import HASH_PREFIX, hash_bytes, is_hash

__all__ = ["ObjectStore", "OBJECT_MODE"]

OBJECT_MODE = 0o444
_COPY_CHUNK = 8 * 2**20


class ObjectStore:
    """Blobs addressed by their blake3 hash, under ``<store>/objects``."""

    def __init__(self, root: Path):
        self.root = root

    def path_for(self, digest: str) -> Path:
        """Where the object with hash ``digest`` lives (whether or not it exists)."""
        if not is_hash(digest):
            raise StoreError(f"{digest!r} is not an object hash (expected 'blake3:<64 hex>')")
        hexdigest = digest[len(HASH_PREFIX):]
        return self.root / hexdigest[:2] / hexdigest[2:]

    def exists(self, digest: str) -> bool:
        """True when the object file is present (its content is checked by ``verify``)."""
        return self.path_for(digest).is_file()

    def write_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its hash. Existing objects are not rewritten."""
        digest = hash_bytes(data)
        if not self.exists(digest):
            self._install(lambda: iter((data,)), str(len(data)) + " bytes")
        return digest

    def copy_file(self, source: Path) -> tuple[str, int]:
        """Copy ``source`` into the store, hashing the bytes as they are copied.

        Returns
        -------
        (hash, size)

        Raises
        ------
        StoreError
            When the source cannot be read (missing, a folder, unreadable).
        """

        def chunks() -> Iterator[bytes]:
            with open(source, "rb") as handle:
                while chunk := handle.read(_COPY_CHUNK):
                    yield chunk

        return self._install(chunks, str(source))

    def _install(self, chunks: Callable[[], Iterable[bytes]], what: str) -> tuple[str, int]:
        # temp file in objects/ -> fsync -> 0o444 -> rename onto the hash name.
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temporary(self.root)
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        size = 0
        try:
            try:
                with os.fdopen(fd, "wb") as dst:
                    for chunk in chunks():
                        hasher.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
                    dst.flush()
                    os.fsync(dst.fileno())
            except FileNotFoundError:
                raise StoreError(f"{what}: the file disappeared while it was stored") from None
            except IsADirectoryError:
                raise StoreError(f"{what}: is a folder, only files can be stored") from None
            except OSError as exc:
                raise StoreError(f"{what}: cannot store it: {exc.strerror or exc}") from None
            crashpoint("object.after_temp")
            digest = HASH_PREFIX + hasher.hexdigest()
            target = self.path_for(digest)
            if target.exists():
                os.unlink(tmp)
                return digest, size
            os.chmod(tmp, OBJECT_MODE)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            fsync_dir(target.parent)
            crashpoint("object.after_rename")
            return digest, size
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def iter_objects(self) -> Iterator[tuple[str, Path]]:
        """Every object file as ``(hash, path)``; temp files and strays are skipped."""
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in sorted(shard.iterdir()):
                digest = HASH_PREFIX + shard.name + entry.name
                if is_hash(digest):
                    yield digest, entry


