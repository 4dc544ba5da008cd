"""Turn a path sent by a browser into a file inside the server root, or refuse it.

Every path parameter of every nbprod route goes through ``resolve_request_path``. A refused
path and a path that does not exist produce the *same* ``NotFound`` (one message, one status),
so a client cannot probe which files exist outside the root, or which hidden files exist in it.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from ..errors import PathError
from ..fsutil import resolve_inside

__all__ = [
    "NotFound",
    "NOT_FOUND_MESSAGE",
    "resolve_request_path",
    "resolve_output_path",
    "as_argument",
    "check_run_id",
]

#: The one message every refused or missing path gets, on every route.
NOT_FOUND_MESSAGE = "not found: give the path of an existing notebook inside the server root"

# Percent signs are refused outright: the query string was already decoded once by the
# server, so a "%" left over is an encoded payload (double encoding) or a name no notebook
# needs. Control characters (NUL included), backslashes and U+FFFD (the mark of bytes that
# were not UTF-8, e.g. overlong encodings) never name a notebook either.
_FORBIDDEN_CHARS = re.compile("[\x00-\x1f\x7f%\\\\\ufffd]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MAX_PATH_CHARS = 1024


class NotFound(Exception):
    """Raised when a path parameter is refused or names nothing; always rendered as one 404."""


def resolve_request_path(root: str | os.PathLike, text: object, *, suffix: str = ".ipynb") -> Path:
    """Resolve ``text`` (relative, ``/``-separated) to an existing file inside ``root``.

    Parameters
    ----------
    root:
        The server root (``ServerApp.root_dir``).
    text:
        The path as the client sent it, already URL-decoded once by the server.
    suffix:
        The file suffix the route works on (notebooks by default).

    Returns
    -------
    Path
        The real path of the file (symlinks inside the root are followed).

    Raises
    ------
    NotFound
        When the path is not a string, is absolute, starts with ``~``, has a drive or UNC
        prefix, contains ``..``, a hidden component, a control character, a backslash or a
        percent sign, resolves outside the root (symlinks included), lacks ``suffix``, or
        names no regular file.
    """
    resolved = _contained(root, text, suffix)
    try:
        mode = resolved.stat().st_mode
    except OSError:
        raise NotFound from None
    if not stat.S_ISREG(mode):
        raise NotFound
    return resolved


def resolve_output_path(root: str | os.PathLike, text: object, *, source: Path) -> Path:
    """Resolve where a copy of an executed notebook may be written (inside ``root``).

    The same refusals as ``resolve_request_path``; the file need not exist, but its folder
    must, a file already there must be a regular file, and it cannot be ``source`` itself.

    Raises
    ------
    NotFound
        When the path is refused.
    """
    resolved = _contained(root, text, ".ipynb")
    if resolved == source or not resolved.parent.is_dir():
        raise NotFound
    if os.path.lexists(resolved) and not stat.S_ISREG(os.lstat(resolved).st_mode):
        raise NotFound
    return resolved


def _contained(root: str | os.PathLike, text: object, suffix: str) -> Path:
    """The checks every path shares, before looking at what (if anything) is there."""
    if not isinstance(text, str) or not text or len(text) > MAX_PATH_CHARS:
        raise NotFound
    if _FORBIDDEN_CHARS.search(text) or _DRIVE.match(text) or text.startswith(("/", "~")):
        raise NotFound
    # Hidden components (".git", ".env", ".nbprod") and ".." are refused before touching the
    # disk; "." alone is harmless but pointless, so it is refused too.
    if any(part.startswith(".") for part in PurePosixPath(text).parts):
        raise NotFound
    if not text.endswith(suffix):
        raise NotFound
    try:
        resolved = resolve_inside(root, text)
    except PathError:
        raise NotFound from None
    # A symlink inside the root may point at a hidden file inside the root: check again.
    try:
        inner = resolved.relative_to(os.path.realpath(root))
    except ValueError:
        raise NotFound from None
    if any(part.startswith(".") for part in inner.parts) or not resolved.name.endswith(suffix):
        raise NotFound
    return resolved


def as_argument(path: str) -> str:
    """A checked relative path as a command-line argument of the CLI: one that starts with
    ``-`` gets ``./`` in front, so the CLI reads it as the file it names, never as an option
    (a notebook named ``--extend-exclude=x.ipynb`` or ``-o.ipynb``)."""
    return f"./{path}" if path.startswith("-") else path


def check_run_id(text: object) -> str:
    """Return ``text`` when it looks like a run id (letters, digits, ``_.-``); else NotFound."""
    if not isinstance(text, str) or not _RUN_ID.match(text) or ".." in text:
        raise NotFound
    return text
