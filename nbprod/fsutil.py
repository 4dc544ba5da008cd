"""File-system helpers every writer in nbprod shares: atomic writes and path containment.

Every file nbprod writes (notebooks, generated modules, receipts, store objects) goes through
``atomic_write``: a temporary file in the same directory, fsync, then ``os.replace``. A killed
process therefore leaves either the old file or the new one, never half of each. The temporary
name starts with ``.nbprod-tmp-`` so ``nbprod store verify --repair`` can find leftovers.
Writers that read a file, change it and write it back, where other processes may do the same
(lint fixes declaring packages), hold ``folder_lock`` around the whole read-change-write.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from .errors import PathError

TEMP_PREFIX = ".nbprod-tmp-"


def atomic_write(
    path: str | os.PathLike, data: str | bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    Parameters
    ----------
    path:
        The destination. Its parent folder is created if missing.
    data:
        Text (written as UTF-8, newlines untouched) or bytes.
    mode:
        Permission bits for the final file (e.g. ``0o444`` for store objects). By default
        a file that already exists keeps its mode (and its owner and group where the
        process may set them), and a new file gets the mode ``open`` would give it
        (0o666 less the umask): the temporary file's private 0o600 never survives.
    durable:
        fsync the file and its folder (survives a power loss). ``False`` keeps only the
        temp-and-rename atomicity, which is enough against a killed process; for frequent
        intermediate saves such as the output notebook after each cell.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = encode_text(data) if isinstance(data, str) else data
    existing = _existing_state(target)
    fd, tmp = create_temporary(target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            _take_over(tmp, existing)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(target.parent)


def create_temporary(folder: str | os.PathLike) -> tuple[int, str]:
    """A new empty file in ``folder``, readable by this user only: its descriptor (open for
    writing) and its path.

    The name holds the writer's pid, which lets ``store verify --repair`` tell a live write
    from a leftover. Made here rather than by ``tempfile.mkstemp``, whose import (``random``,
    ``shutil``) costs more than a lint served from its cache spends saving the cache.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    while True:
        path = os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{os.urandom(6).hex()}")
        try:
            return os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600), path
        except FileExistsError:
            continue  # another writer's name: draw again


def encode_text(text: str) -> bytes:
    """``text`` as UTF-8. A lone UTF-16 surrogate (which no encoder accepts, and which a
    kernel can still send in an output) becomes U+FFFD rather than failing the write."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text).encode("utf-8")


_SURROGATES = re.compile("[\ud800-\udfff]")


def _existing_state(target: Path) -> os.stat_result | None:
    try:
        info = os.stat(target)
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _take_over(tmp: str, existing: os.stat_result | None) -> None:
    """Give the temporary file the mode (and owner) the final file should have."""
    if existing is None:
        os.chmod(tmp, 0o666 & ~current_umask())
        return
    os.chmod(tmp, stat.S_IMODE(existing.st_mode))
    mine = os.stat(tmp)
    if (mine.st_uid, mine.st_gid) != (existing.st_uid, existing.st_gid):
        try:
            os.chown(tmp, existing.st_uid, existing.st_gid)
        except OSError:
            try:  # a member of the file's group may still keep the group
                os.chown(tmp, -1, existing.st_gid)
            except OSError:
                pass  # owned by whoever rewrote it, as any editor's save would leave it
        # chown clears set-uid and set-gid bits: put the mode back.
        os.chmod(tmp, stat.S_IMODE(existing.st_mode))


def default_cache_folder() -> Path:
    """nbprod's cache (lint results, locks, isolated environments, uv's downloads):
    ``$NBPROD_CACHE_DIR``, else ``$XDG_CACHE_HOME/nbprod``, else ``~/.cache/nbprod``."""
    explicit = os.environ.get("NBPROD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nbprod"


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux); else
    set and restored at once, which is what ``os.umask`` offers."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    # Without syncing the folder, the rename itself may be lost on power failure.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``flock`` on the folder itself, so nothing is
    written into it): other processes that lock the same folder wait until this one is done.
    Where the folder cannot be opened, nothing is locked."""
    import fcntl

    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def resolve_inside(root: str | os.PathLike, relative: str | os.PathLike) -> Path:
    """Resolve ``relative`` against ``root`` and refuse anything that escapes it.

    Symlinks are resolved before the check, so a link inside the root that points outside is
    refused too. Absolute paths, ``~``, drive letters, UNC paths and NUL bytes are refused.

    Raises
    ------
    PathError
        When the resolved path is not inside ``root``.
    """
    text = os.fspath(relative)
    root_real = Path(os.path.realpath(root))
    if (
        "\x00" in text
        or text.startswith(("/", "\\", "~"))
        or (len(text) > 1 and text[1] == ":")
        or "\\" in text
    ):
        raise PathError(f"path {text!r} is not a path relative to {root_real}")
    candidate = Path(os.path.realpath(root_real / text))
    try:
        inside = os.path.commonpath([root_real, candidate]) == str(root_real)
    except ValueError:
        inside = False
    if not inside:
        raise PathError(f"path {text!r} resolves outside {root_real}")
    return candidate
