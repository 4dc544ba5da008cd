"""What produced a run: Python, platform, kernel spec, installed distributions, git, lockfiles.

Capture has to be cheap enough to run for every notebook execution (target: 300 ms with 300
installed distributions) and must never touch the network, so distributions come from
``importlib.metadata`` (no ``pip`` subprocess). A wheel-installed distribution's name and version
are read from its ``<name>-<version>.dist-info`` folder name, which the wheel spec guarantees;
only unusual layouts fall back to parsing the METADATA file. Editable and local-path installs
(PEP 610 ``direct_url.json``) are listed as not reproducible, because their code can change without
their version changing.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from .hashing import hash_bytes

__all__ = ["capture_environment", "canonical_name", "LOCKFILES"]

#: Lockfiles whose hash is recorded when present at the project root.
LOCKFILES = ("uv.lock", "pylock.toml", "poetry.lock", "Pipfile.lock", "pdm.lock")
_GIT_TIMEOUT_S = 10
_MAX_UNTRACKED = 100
_VERSION = re.compile(r"^[0-9][^-]*$")


def canonical_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def capture_environment(
    kernel_name: str | None = None, project_root: str | os.PathLike | None = None
) -> dict:
    """Describe the environment a notebook runs in (JSON data for the receipt).

    Parameters
    ----------
    kernel_name:
        The notebook's kernel (``metadata.kernelspec.name``); its spec is recorded.
    project_root:
        The project folder: git state and lockfiles are read there. None skips both.

    Returns
    -------
    dict
        ``python``, ``implementation``, ``executable``, ``platform``, ``markers``, ``kernel``,
        ``packages`` (canonical name -> version), ``package_sources`` (PEP 610 details),
        ``not_reproducible`` (names), ``git`` (or None), ``lockfiles`` (name -> hash),
        ``conda`` (or None).
    """
    packages, sources = _distributions()
    root = Path(project_root) if project_root is not None else None
    return {
        "python": platform.python_version(),
        "implementation": {
            "name": sys.implementation.name,
            "version": ".".join(str(part) for part in sys.implementation.version[:3]),
        },
        "executable": sys.executable,
        "platform": _platform(),
        "markers": _markers(),
        "kernel": _kernel_spec(kernel_name),
        "packages": packages,
        "package_sources": sources,
        "not_reproducible": sorted(
            name for name, source in sources.items() if not source["reproducible"]
        ),
        "git": _git(root) if root is not None else None,
        "lockfiles": _lockfiles(root) if root is not None else {},
        "conda": _conda(),
    }


# -- Python and platform ------------------------------------------------------------------------


def _platform() -> str:
    uname = platform.uname()
    libc = ""
    if hasattr(os, "confstr"):
        try:
            libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError):
            libc = ""
    text = f"{uname.system}-{uname.release}-{uname.machine}"
    return f"{text}-{libc.replace(' ', '')}" if libc else text


def _markers() -> dict:
    # The PEP 508 environment markers, the same set `pip inspect` reports.
    uname = platform.uname()
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": ".".join(str(p) for p in sys.implementation.version[:3]),
        "os_name": os.name,
        "platform_machine": uname.machine,
        "platform_release": uname.release,
        "platform_system": uname.system,
        "platform_version": uname.version,
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


# -- distributions ------------------------------------------------------------------------------


def _name_version(dist: importlib.metadata.Distribution) -> tuple[str, str]:
    folder = getattr(dist, "_path", None)  # PathDistribution's folder; absent for other finders
    if folder is not None and folder.name.endswith(".dist-info"):
        stem = folder.name[: -len(".dist-info")]
        if stem.count("-") == 1:
            name, version = stem.split("-")
            if _VERSION.match(version):
                return name, version
    return dist.metadata["Name"] or "", dist.version or ""


def _source(dist: importlib.metadata.Distribution) -> dict | None:
    try:
        text = dist.read_text("direct_url.json")
    except OSError:
        return None
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return {"url": None, "editable": False, "reproducible": False, "error": "bad direct_url"}
    url = str(info.get("url", ""))
    editable = bool((info.get("dir_info") or {}).get("editable"))
    vcs = info.get("vcs_info") or {}
    source = {"url": url, "editable": editable}
    if vcs:
        source.update(vcs=vcs.get("vcs"), commit=vcs.get("commit_id"))
    archive = info.get("archive_info") or {}
    if archive.get("hashes") or archive.get("hash"):
        source["hashes"] = archive.get("hashes") or {"legacy": archive.get("hash")}
    # Editable and local paths can change under the same version: not reproducible elsewhere.
    source["reproducible"] = not editable and not url.startswith("file:")
    return source


def _distributions() -> tuple[dict[str, str], dict[str, dict]]:
    packages: dict[str, str] = {}
    sources: dict[str, dict] = {}
    for dist in importlib.metadata.distributions():
        name, version = _name_version(dist)
        if not name:
            continue
        key = canonical_name(name)
        if key in packages:
            continue  # shadowed by an earlier sys.path entry, as the import system does
        packages[key] = version
        source = _source(dist)
        if source is not None:
            sources[key] = source
    return dict(sorted(packages.items())), dict(sorted(sources.items()))


def _conda() -> dict | None:
    meta = Path(sys.prefix) / "conda-meta"
    if not meta.is_dir():
        return None
    packages = {}
    for entry in meta.glob("*.json"):
        parts = entry.stem.rsplit("-", 2)
        if len(parts) == 3:
            packages[parts[0]] = f"{parts[1]}={parts[2]}"
    return {"prefix": sys.prefix, "packages": dict(sorted(packages.items()))}


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
