"""File-system helpers every writer in nbprod shares: atomic writes and path containment.

Every file nbprod writes (notebooks, generated modules, receipts, store objects) goes through
``atomic_write``: a temporary file in the same directory, fsync, then ``os.replace``. A killed
process therefore leaves either the old file or the new one, never half of each. The temporary
name starts with ``.nbprod-tmp-`` so ``nbprod store verify --repair`` can find leftovers.
"""

from __future__ import annotations

import os
import tempfile
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
        Permission bits for the final file (e.g. ``0o444`` for store objects).
    durable:
        fsync the file and its folder (survives a power loss). ``False`` keeps only the
        temp-and-rename atomicity, which is enough against a killed process; for frequent
        intermediate saves such as the output notebook after each cell.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    # The writer pid in the name lets `store verify --repair` tell a live write from a leftover.
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(target.parent)


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
