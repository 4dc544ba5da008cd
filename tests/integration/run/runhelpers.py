"""Helpers for runs in real kernels: writing notebooks, checking processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
from notebook_builder import make_notebook

#: Children of this worker that existed before the current test (other tests' servers and
#: clusters under pytest-xdist); set by an autouse fixture in conftest.py.
BASELINE: set[int] = set()


def write_notebook(folder: Path, name: str, *cells) -> Path:
    path = folder / name
    path.write_text(nbformat.writes(make_notebook(*cells)), encoding="utf-8")
    return path


def live_children() -> list[psutil.Process]:
    """Child processes started during this test that are still running (zombies don't count)."""
    alive = []
    for child in psutil.Process().children(recursive=True):
        if child.pid in BASELINE:
            continue
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            continue
    return alive


def pid_gone(pid: int, within: float) -> bool:
    """Whether ``pid`` has exited (or is only a zombie) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def ctrl_c(job: subprocess.Popen, to: str) -> tuple[str, str]:
    """SIGINT to ``job`` alone (``to="command"``) or to its whole process group (``"group"``,
    what a terminal's Ctrl-C does; start the job with ``start_new_session=True``), then its
    output once it has ended."""
    if to == "group":
        os.killpg(job.pid, signal.SIGINT)
    else:
        job.send_signal(signal.SIGINT)
    return job.communicate(timeout=60)


@contextlib.contextmanager
def killed_at_exit(job: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """A job (started with ``start_new_session=True``) that is still running when the block
    ends (it went on after Ctrl-C, or a test failed before stopping it) is killed with its
    process group: no test leaves one behind."""
    try:
        yield job
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.communicate()


def nbprod_command() -> list[str]:
    return [sys.executable, "-m", "nbprod"]


def child_env(project: Path) -> dict:
    env = dict(os.environ)
    env["NBPROD_CEILING_DIRECTORIES"] = str(project)
    return env
