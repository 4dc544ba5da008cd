"""The isolated environments in nbprod's cache: listed with their size and last use, and pruned.

Each environment is a full virtual environment (often hundreds of MiB) that a later reproduce
of a run with the same lock reuses; nothing else ever removes one. ``ensure_environment`` sets
the modification time of an environment's marker file each time it is used, so an environment
not used for a while can be told apart from one a reproduce relies on. Pruning keeps an
environment that is in use at that moment: being built (it takes the build's lock without
waiting) or running a kernel (a process started from its ``bin/``, seen in ``/proc`` where the
system has one). A folder without a marker is what a failed or killed build left; it is
removed whatever its age, unless a build holds its lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .isolated import MARKER, kernel_folder

__all__ = ["CachedEnv", "environments", "prune"]


@dataclass(frozen=True)
class CachedEnv:
    """One folder under ``<cache>/envs``: ``used`` is the last use (seconds since the epoch),
    ``run_id`` the run it was first built for; ``complete`` False for a leftover build."""

    key: str
    folder: Path
    complete: bool
    run_id: str | None
    python: str | None
    used: float
    size: int

    @property
    def kernel(self) -> str:
        return f"nbprod-{self.key}"

    def to_dict(self) -> dict:
        return {"key": self.key, "folder": str(self.folder), "complete": self.complete,
                "run_id": self.run_id, "python": self.python, "used": self.used,
                "size_bytes": self.size, "kernel": self.kernel}


def environments(cache: Path) -> list[CachedEnv]:
    """Every environment folder in ``cache``, the most recently used first."""
    root = cache / "envs"
    try:
        folders = [entry for entry in os.scandir(root) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    found = [_describe(Path(entry.path)) for entry in folders]
    return sorted(found, key=lambda env: -env.used)


def prune(cache: Path, older_than_days: float, *, dry_run: bool = False
          ) -> tuple[list[CachedEnv], list[CachedEnv]]:
    """Remove the environments not used for ``older_than_days`` days and the leftovers of
    failed builds, with their kernels. Returns (removed, kept because in use); with
    ``dry_run``, what would be removed, removing nothing."""
    oldest = time.time() - older_than_days * 86400
    removed, busy = [], []
    for env in environments(cache):
        if env.complete and env.used > oldest:
            continue
        with _unless_locked(env.folder.parent / f"{env.key}.lock") as free:
            if not free or _running_from(env.folder):
                busy.append(env)
                continue
            if not dry_run:
                shutil.rmtree(kernel_folder(env.kernel), ignore_errors=True)
                shutil.rmtree(env.folder, ignore_errors=True)
            removed.append(env)
    return removed, busy


def _describe(folder: Path) -> CachedEnv:
    marker = folder / MARKER
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        used = marker.stat().st_mtime
    except (OSError, ValueError):
        record, used = None, folder.stat().st_mtime
    complete = isinstance(record, dict)
    if not complete:
        record = {}
    return CachedEnv(key=folder.name, folder=folder, complete=complete,
                     run_id=record.get("run_id"), python=record.get("python"), used=used,
                     size=_size(folder))


def _size(folder: Path) -> int:
    """Bytes in the files under ``folder`` (symlinks not followed, each inode once)."""
    total, seen = 0, set()
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    if (info.st_dev, info.st_ino) not in seen:
                        seen.add((info.st_dev, info.st_ino))
                        total += info.st_size
            except OSError:
                continue
    return total


def _running_from(folder: Path) -> bool:
    """Whether a process was started from an executable inside ``folder`` (a kernel of the
    environment); False where there is no ``/proc`` to ask."""
    prefix = os.fsencode(os.path.join(folder, ""))
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return False
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                program = handle.read().split(b"\0", 1)[0]
        except OSError:
            continue
        if program.startswith(prefix):
            return True
    return False


@contextlib.contextmanager
def _unless_locked(path: Path) -> Iterator[bool]:
    """Hold the build lock at ``path`` if nobody does: yields whether it was free."""
    try:
        handle = open(path, "a+")  # noqa: SIM115 - closed below, after the lock is released
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
