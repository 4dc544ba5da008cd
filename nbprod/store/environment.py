"""What produced a run: Python, platform, kernel spec, installed distributions, git, lockfiles.

Capture has to be cheap enough to run for every notebook execution (target: 300 ms with 300
installed distributions) and must never touch the network, so distributions come from
``importlib.metadata`` (no ``pip`` subprocess, see ``interpreter.py``). What is described is the
kernel's interpreter: the one running nbprod when the kernel spec runs on it, else the spec's own
Python, described by running ``interpreter.py`` there (about 100 ms).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .hashing import hash_bytes
from .interpreter import canonical_name, describe

__all__ = ["capture_environment", "canonical_name", "LOCKFILES"]

#: Lockfiles whose hash is recorded when present at the project root.
LOCKFILES = ("uv.lock", "pylock.toml", "poetry.lock", "Pipfile.lock", "pdm.lock")
_GIT_TIMEOUT_S = 10
_MAX_UNTRACKED = 100
_PROBE_TIMEOUT_S = 60
DEFAULT_INDEX = "https://pypi.org/simple"


def capture_environment(
    kernel_name: str | None = None,
    project_root: str | os.PathLike | None = None,
    *,
    private: bool = False,
) -> dict:
    """Describe the environment a notebook runs in (JSON data for the receipt).

    Parameters
    ----------
    kernel_name:
        The notebook's kernel (``metadata.kernelspec.name``); its spec is recorded, and when
        it runs on another interpreter than this process, that interpreter is described.
    project_root:
        The project folder: git state and lockfiles are read there. None skips both.
    private:
        Also return ``_modules`` and ``_requires`` (see ``interpreter.needed_distributions``);
        the caller removes them before the receipt is written.

    Returns
    -------
    dict
        ``python``, ``implementation``, ``executable``, ``platform``, ``tags`` (wheel tags),
        ``markers``, ``index_url``, ``kernel``, ``packages`` (canonical name -> version),
        ``package_sources`` (PEP 610 details), ``not_reproducible`` (names), ``git`` (or
        None), ``lockfiles`` (name -> hash), ``conda`` (or None).
    """
    kernel = _kernel_spec(kernel_name)
    foreign = _foreign_interpreter(kernel)
    info = describe(private) if foreign is None else _describe_other(foreign, private)
    root = Path(project_root) if project_root is not None else None
    prefix = sys.prefix if foreign is None else str(Path(foreign).parent.parent)
    info.update(
        index_url=index_url(),
        kernel=kernel,
        git=_git(root) if root is not None else None,
        lockfiles=_lockfiles(root) if root is not None else {},
        conda=_conda(prefix),
    )
    return info


def index_url() -> str:
    """The package index installs come from (uv's and pip's settings), without credentials."""
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        value = os.environ.get(name, "").strip()
        if value:
            return strip_credentials(value.split()[0])
    return DEFAULT_INDEX


def strip_credentials(url: str) -> str:
    """``https://user:token@host/simple`` -> ``https://host/simple``: never record a secret."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _foreign_interpreter(kernel: dict | None) -> str | None:
    """The kernel's Python when it is not the one running nbprod (another venv, a conda env)."""
    argv = (kernel or {}).get("argv") or []
    if not argv or not os.path.isabs(argv[0]) or "python" not in Path(argv[0]).name:
        return None
    if os.path.abspath(argv[0]) == os.path.abspath(sys.executable):
        return None
    try:
        same = Path(argv[0]).parent.parent.resolve() == Path(sys.prefix).resolve()
    except OSError:
        same = False
    return None if same else argv[0]


def _describe_other(python: str, private: bool) -> dict:
    from . import interpreter

    try:
        done = subprocess.run([python, "-I", interpreter.__file__], capture_output=True,
                              timeout=_PROBE_TIMEOUT_S, check=False)
        info = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        info = None
    if not isinstance(info, dict):
        return {"error": f"could not describe the kernel's interpreter {python}",
                "executable": python, "packages": {}}
    if not private:
        info.pop("_modules", None)
        info.pop("_requires", None)
    return info


def _conda(prefix: str) -> dict | None:
    meta = Path(prefix) / "conda-meta"
    if not meta.is_dir():
        return None
    packages = {}
    for entry in meta.glob("*.json"):
        parts = entry.stem.rsplit("-", 2)
        if len(parts) == 3:
            packages[parts[0]] = f"{parts[1]}={parts[2]}"
    return {"prefix": prefix, "packages": dict(sorted(packages.items()))}


# -- kernel -------------------------------------------------------------------------------------


def _kernel_spec(name: str | None) -> dict | None:
    if not name:
        return None
    try:
        from jupyter_core.paths import jupyter_path

        folders = jupyter_path("kernels")
    except ImportError:
        folders = []
    for folder in folders:
        spec_file = Path(folder) / name / "kernel.json"
        try:
            spec = json.loads(spec_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return {
            "name": name,
            "display_name": spec.get("display_name"),
            "language": spec.get("language"),
            "argv": spec.get("argv"),
            "resource_dir": str(spec_file.parent),
        }
    if name in ("python3", "python"):
        # ipykernel's built-in spec: the kernel runs on this very interpreter.
        return {
            "name": name,
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "resource_dir": None,
        }
    return {"name": name, "display_name": None, "language": None, "argv": None,
            "resource_dir": None, "missing": True}


# -- git and lockfiles --------------------------------------------------------------------------


def _git_output(root: Path, *args: str) -> bytes | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _git(root: Path) -> dict | None:
    toplevel = _git_output(root, "rev-parse", "--show-toplevel")
    if toplevel is None:
        return None
    commit = _git_output(root, "rev-parse", "--verify", "-q", "HEAD")
    status = _git_output(root, "status", "--porcelain=v1", "-z", "--untracked-files=all") or b""
    tracked_changes, untracked = [], []
    for record in status.split(b"\0"):
        if len(record) < 4:
            continue
        code, path = record[:2], record[3:].decode("utf-8", "replace")
        if code == b"??":
            untracked.append(path)
        elif code != b"!!":
            tracked_changes.append(path)
    diff = _git_output(root, "diff", "HEAD", "--binary") if commit else None
    return {
        "root": toplevel.decode("utf-8", "replace").strip(),
        "commit": commit.decode().strip() if commit else None,
        "dirty": bool(tracked_changes),
        "diff_hash": hash_bytes(diff) if diff else None,
        "changed": len(tracked_changes),
        "untracked": untracked[:_MAX_UNTRACKED],
        "untracked_count": len(untracked),
    }


def _lockfiles(root: Path) -> dict[str, str]:
    found = {}
    for name in (*LOCKFILES, *sorted(p.name for p in root.glob("pylock.*.toml"))):
        try:
            found[name] = hash_bytes((root / name).read_bytes())
        except OSError:
            continue
    return found
