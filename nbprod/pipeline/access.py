"""Which project files a function step reads, seen while it runs (no declarations).

Notebook steps are watched by an audit hook inside their kernel (``nbprod.run.capture``);
function steps run in the worker's own process, so the worker installs one audit hook of its
own, once, and each step turns it on for its thread only. Several steps may run at once on
the threads of one worker; each sees only what its own thread opened.

The same limits as for notebooks: files opened by subprocesses, by other threads the step
starts, or by C libraries that bypass Python's ``open`` are not seen. Starting a process is
seen, though (``subprocess``, ``os.system``...): the step is then marked *opaque*, its inputs
not fully known, and the cache reruns it unless the user pins it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["watch_reads"]

_CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".pth")
_PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.spawn",
                   "os.fork")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_local = threading.local()
_installed = False
_install_lock = threading.Lock()


class Reads:
    """The files under one project root that a step opened, read and written apart."""

    def __init__(self, root: str):
        self.root = os.path.normpath(os.path.abspath(root))
        self.read: set[str] = set()
        self.written: set[str] = set()
        self.opaque: str | None = None  # why some inputs may be unseen

    def note(self, path: str, writing: bool) -> None:
        if not path.startswith(self.root + os.sep) or path.endswith(_CODE_SUFFIXES):
            return
        if "site-packages" in path or "__pycache__" in path:
            return
        relative = os.path.relpath(path, self.root).replace(os.sep, "/")
        (self.written if writing else self.read).add(relative)

    @property
    def inputs(self) -> list[str]:
        """Files read that the step did not write first: its inputs."""
        return sorted(self.read - self.written)


def _hook(event: str, args: tuple) -> None:
    if event != "open" and not event.startswith(_PROCESS_EVENTS):
        return
    reads = getattr(_local, "reads", None)
    if reads is None:
        return
    if event != "open":
        reads.opaque = reads.opaque or f"it started a process ({event})"
        return
    try:
        path, mode, flags = args
        if path is None or isinstance(path, int):
            return
        full = os.path.normpath(os.path.join(os.getcwd(), os.fsdecode(path)))
        writing = any(c in mode for c in "wax+") if mode else bool(flags & _WRITE_FLAGS)
        reads.note(full, writing)
    except Exception:  # never let bookkeeping break the step's own open()
        return


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)  # process-wide and permanent: inert unless a step watches
            _installed = True


@contextmanager
def watch_reads(root: str) -> Iterator[Reads]:
    """Record the files under ``root`` this thread opens while the block runs."""
    _install()
    reads = Reads(root)
    previous = getattr(_local, "reads", None)
    _local.reads = reads
    try:
        yield reads
    finally:
        _local.reads = previous
