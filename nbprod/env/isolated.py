"""An isolated virtual environment built from a lock with uv, with a Jupyter kernel for it.

Environments live in ``<cache>/envs/<key>/``, the key being the lock's content, so every run
locked to the same distributions shares one environment and the second reproduce installs
nothing. An environment counts as built only once its marker file is written, after uv
finished (the marker's modification time is then its last use, see ``pruning``); anything
else in its folder is a leftover of a failed or killed build and is removed before building
again. The kernel (``nbprod-<key>``, in the user's Jupyter data folder, so
JupyterLab lists it too) is registered only after that, so a failed build never leaves a kernel
that points at a half-built environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import InfrastructureError, LockError
from .lock import Lock, Sources
from .uv import UvFailure, cause, run_uv

__all__ = ["IsolatedEnv", "ensure_environment", "kernel_folder"]

MARKER = "nbprod-env.json"


@dataclass(frozen=True)
class IsolatedEnv:
    """A built environment: its folder, its Python, its kernel, and whether it was reused."""

    folder: Path
    python: Path
    kernel_name: str
    cached: bool
    seconds: float


def kernel_folder(name: str) -> Path:
    """Where the kernel spec ``name`` is registered (the user's Jupyter data folder)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels" / name


def ensure_environment(lock: Lock, sources: Sources, cache: Path) -> IsolatedEnv:
    """The environment of ``lock``: reused when built before, else built now with uv.

    Raises
    ------
    LockError
        When the recorded Python is not installed, or the lock cannot be installed (exit 2).
    InfrastructureError
        When uv failed for another reason (exit 3).
    """
    began = time.monotonic()
    key = lock.key[:16]
    folder = cache / "envs" / key
    python = folder / "bin" / "python"
    name = f"nbprod-{key}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder.parent / f"{key}.lock"):
        cached = (folder / MARKER).is_file() and python.exists()
        if not cached:
            _unregister(name)
            _build(lock, sources, cache, folder, python)
        _register(name, python, lock)
        os.utime(folder / MARKER)  # its last use, for ``nbprod env prune``
    return IsolatedEnv(folder, python, name, cached, time.monotonic() - began)


def _build(lock: Lock, sources: Sources, cache: Path, folder: Path, python: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)  # a build that failed or was killed half-way
    plan = lock.plan
    try:
        try:
            run_uv(["venv", "--quiet", "--no-project", "--python", plan.python, str(folder)],
                   cache=cache)
        except UvFailure as failure:
            raise LockError(
                f"run {plan.run_id} ran on Python {plan.python}, which uv cannot find here"
                f" ({cause(failure.stderr)}); install it (uv python install {plan.python})"
                " and reproduce again"
            ) from None
        # From requirements.txt (hash-checked): uv 0.13 unpacks the wheels of a pylock.toml
        # install anew each time, while registry pins reuse its cache.
        try:
            run_uv(["pip", "sync", "--quiet", "--python", str(python),
                    str(lock.requirements_path), *sources.uv_args(plan.index_url)],
                   cache=cache)
        except UvFailure as failure:
            raise InfrastructureError(
                f"run {plan.run_id}: uv could not install the lock {lock.requirements_path}:"
                f" {cause(failure.stderr)}"
            ) from None
        record = {"run_id": plan.run_id, "python": plan.python, "lock": str(lock.folder),
                  "built": datetime.now(timezone.utc).isoformat()}
        (folder / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _register(name: str, python: Path, lock: Lock) -> None:
    """Write the kernel spec (atomically: a complete folder renamed into place)."""
    target = kernel_folder(name)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python {lock.plan.python} (nbprod, run {lock.plan.run_id})",
        "language": "python",
        "metadata": {"nbprod": {"environment": str(python.parent.parent)}},
    }
    text = json.dumps(spec, indent=1) + "\n"
    if target.is_dir() and _read_text(target / "kernel.json") == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".nbprod-tmp-"))
    try:
        (work / "kernel.json").write_text(text, encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _unregister(name: str) -> None:
    shutil.rmtree(kernel_folder(name), ignore_errors=True)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


@contextlib.contextmanager
def _exclusive(path: Path):
    """One builder per environment at a time (two reproduces of one run wait for each other)."""
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
