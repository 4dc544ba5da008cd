"""What rules see of the file system beyond the notebook, recorded so a cached result knows
when it went stale.

A few rules look outside the notebook: whether a data file exists (NB205), whether it is a
Git LFS pointer (NB206), which requirements files declare which packages and which modules
are local (NB207). They ask through a ``FileProbe``, which answers as ``pathlib`` would and
records, in ``Observations``, the least that must stay the same for the answer to stay the
same: the kind of a path whose existence was asked (file, folder or missing), the full stat
signature of a file whose content was read, that a file is larger than a limit, and the
names a glob matched (not the folder's modification time, which every editor's save
changes). The lint cache
(``nbprod.lint.cache``) stores the observations with the findings and reuses the findings
only while ``Observations.unchanged()``: a data file added, a requirement declared or a
pointer replaced by its content relints the notebooks that depend on it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FileProbe", "Observations", "Signature", "content_hash", "file_kind", "glob_names",
           "signature"]

#: ``[size, mtime_ns, ctime_ns, inode, file kind]`` of a path, ``None`` when it is missing.
Signature = list[int] | None


def signature(path: str | os.PathLike) -> Signature:
    """The stat signature of ``path`` (following symlinks); ``None`` when it cannot be
    stat'ed. ``ctime`` changes on every write and cannot be set back, unlike ``mtime``."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, stat.S_IFMT(st.st_mode)]


def content_hash(path: str | os.PathLike) -> str | None:
    """The blake3 hash of a file's bytes (hex); ``None`` when it cannot be read."""
    from blake3 import blake3

    try:
        with open(path, "rb") as handle:
            return blake3(handle.read()).hexdigest()
    except (OSError, ValueError):
        return None


def file_kind(path: str | os.PathLike) -> int | None:
    """``stat.S_IFREG``, ``stat.S_IFDIR``... of ``path``; ``None`` when it is missing."""
    found = signature(path)
    return None if found is None else found[4]


def glob_names(folder: str | os.PathLike, pattern: str) -> list[str]:
    """Sorted names in ``folder`` that match ``pattern`` (none when it cannot be listed)."""
    try:
        return sorted(p.name for p in Path(folder).glob(pattern))
    except OSError:
        return []


@dataclass
class Observations:
    """What rules saw: ``kinds`` (path -> file kind or None), ``larger`` (path of a regular
    file -> the size it exceeds), ``contents`` (path -> stat signature), ``hashes`` (path ->
    content hash, of the same files), ``globs`` (folder and pattern as ``folder/pattern`` ->
    matching names)."""

    kinds: dict[str, int | None] = field(default_factory=dict)
    larger: dict[str, int] = field(default_factory=dict)
    contents: dict[str, Signature] = field(default_factory=dict)
    hashes: dict[str, str | None] = field(default_factory=dict)
    globs: dict[str, list[str]] = field(default_factory=dict)

    def unchanged(self, memo: dict | None = None) -> bool:
        """Whether every observation still holds, re-checked on the file system now.

        ``memo`` shares the checks between the notebooks of one run (most of them look at
        the same project folder); pass the same dict only within one run.
        """
        memo = {} if memo is None else memo

        def now(kind: str, target: str, probe: Callable[[str], Any]) -> Any:
            try:
                return memo[kind, target]
            except KeyError:
                value = memo[kind, target] = probe(target)
                return value

        def still_larger(path: str, limit: int) -> bool:
            found = now("signature", path, signature)
            return found is not None and found[4] == stat.S_IFREG and found[0] > limit

        def listing(expression: str) -> list[str]:
            return glob_names(*os.path.split(expression))

        def same_content(path: str, seen: Signature) -> bool:
            if now("signature", path, signature) == seen:
                return True
            known = self.hashes.get(path)
            return known is not None and now("hash", path, content_hash) == known

        return (
            all(same_content(p, seen) for p, seen in self.contents.items())
            and all(now("kind", p, file_kind) == seen for p, seen in self.kinds.items())
            and all(still_larger(p, limit) for p, limit in self.larger.items())
            and all(now("glob", e, listing) == seen for e, seen in self.globs.items())
        )

    def newest_change_ns(self) -> int:
        """The latest modification or change time among the files whose content was read."""
        return max((max(sig[1], sig[2]) for sig in self.contents.values() if sig), default=0)


class FileProbe:
    """Answers rules' questions about files and folders, recording what each answer rests on."""

    def __init__(self) -> None:
        self.seen = Observations()

    def exists(self, path: Path) -> bool:
        return self._kind(path) is not None

    def is_file(self, path: Path) -> bool:
        return self._kind(path) == stat.S_IFREG

    def head_of_small_file(self, path: Path, limit: int, count: int) -> bytes | None:
        """The first ``count`` bytes of a regular file of at most ``limit`` bytes; None for
        anything else (then only that it is something else is recorded, so rewriting a
        large data file does not touch the observation)."""
        found = signature(path)
        key = os.path.abspath(path)
        if found is None or found[4] != stat.S_IFREG:
            self.seen.kinds[key] = None if found is None else found[4]
            return None
        if found[0] > limit:
            self.seen.larger[key] = limit
            return None
        self.seen.contents[key] = found
        self.seen.hashes[key] = content_hash(key)
        with open(path, "rb") as handle:
            return handle.read(count)

    def read_text(self, path: Path) -> str:
        self._content(path)
        return path.read_text(encoding="utf-8")

    def glob(self, folder: Path, pattern: str) -> list[Path]:
        """Sorted matches of ``pattern`` (no folder separators) in ``folder``."""
        names = glob_names(folder, pattern)
        self.seen.globs[os.path.join(os.path.abspath(folder), pattern)] = names
        return [folder / name for name in names]

    def _kind(self, path: Path) -> int | None:
        kind = file_kind(path)
        self.seen.kinds[os.path.abspath(path)] = kind
        return kind

    def _content(self, path: Path) -> Signature:
        key = os.path.abspath(path)
        found = signature(path)
        self.seen.contents[key] = found
        self.seen.hashes[key] = content_hash(key) if found is not None else None
        return found
