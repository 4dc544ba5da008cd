"""The lint cache: the findings of a notebook that has not changed are reused, not recomputed.

Linting a folder again after editing one notebook should cost about one notebook. A cached
result is reused only when everything that decided it is unchanged:

- the settings: the cache file is named by a hash of nbprod's own code (the bytes of every
  module, so an edited checkout counts too) and of the third-party rules' modules, the
  Python version, the lint configuration, the project root, ruff's version and the
  distributions installed (NB207 maps imports to installed distributions);
- the notebook: its bytes (a blake3 hash), and the path it is shown under;
- everything a rule saw of other files (data files, requirements, local modules), as
  ``LintContext.files`` recorded it (``nbprod.lint.probe.Observations``).

Everything is compared by content, not by modification times or inodes, so a cache restored
onto a fresh clone of the same files at the same path (a CI job that caches
``~/.cache/nbprod``) is as good as a warm one. A file's stat signature is kept beside its
hash as a shortcut: while it is unchanged, the file is not read again.

A notebook or file changed less than ``RACY_SECONDS`` before it was linted is not cached: a
second write within the file system's timestamp granularity could change its bytes after
they were hashed without changing its signature. Results with fixes applied, and notebooks
that could not be read, are never cached.

The cache lives in the user's cache folder (``$NBPROD_CACHE_DIR``, else
``$XDG_CACHE_HOME/nbprod``, else ``~/.cache/nbprod``), as black's does, so that linting
writes nothing into the project; ``nbprod lint --no-cache`` bypasses it. It only ever speeds
things up: a missing, corrupt or unwritable cache is ignored and rebuilt, never an error.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import MISSING, asdict, fields
from pathlib import Path

from blake3 import blake3

from ..distributions import metadata_folders
from ..fsutil import atomic_write, default_cache_folder
from .checker import LintConfig, LintResult, extended_registry, ruff_codes
from .probe import Observations, content_hash, signature
from .rule import Applicability, Diagnostic, Severity

__all__ = ["LintCache", "default_cache_folder", "settings_key"]

CACHE_FORMAT = 2
RACY_SECONDS = 2.0
#: Entries of notebooks not linted for this long are dropped when the cache is next saved,
#: and so are cache files (other settings, other projects) not written for this long.
STALE_SECONDS = 30 * 24 * 3600

_DIAGNOSTIC_FIELDS = tuple(f.name for f in fields(Diagnostic) if f.name not in ("path", "data"))
# Fields without a default are always written; the others only when not None.
_REQUIRED_FIELDS = {
    f.name for f in fields(Diagnostic) if f.default is MISSING and f.default_factory is MISSING
}


class LintCache:
    """The cached results for one set of settings; ``lookup`` before linting a notebook,
    ``store`` after, ``save`` once at the end."""

    def __init__(self, file: Path):
        self.file = file
        self._read_as = signature(file)  # the file as read: unchanged at save, no re-read
        self._entries = self._read_entries()
        self._stats: dict[str, list[int] | None] = {}
        self._updated: set[str] = set()
        self._checked: dict = {}  # file-system checks shared by this run's lookups

    @classmethod
    def for_settings(
        cls, config: LintConfig, project_root: Path | None, folder: Path | None = None
    ) -> LintCache:
        """The cache of ``config`` in ``project_root``, in ``folder`` (default: the user's)."""
        folder = folder or default_cache_folder()
        return cls(folder / "lint" / f"{settings_key(config, project_root)}.json")

    def lookup(self, path: Path) -> LintResult | None:
        """The cached result of ``path`` when nothing it depends on changed, else None.

        The notebook's signature is taken here, before anything reads it, so that a change
        made while it is being linted is seen by the next run.
        """
        key = os.path.abspath(path)
        current = self._stats[key] = signature(path)
        entry = self._entries.get(key)
        if entry is None or current is None:
            return None
        try:
            if entry["display"] != str(path):
                return None
            if entry["stat"] != current:
                # Touched, or a fresh clone: the same bytes are the same notebook.
                if content_hash(key) != entry["hash"]:
                    return None
                entry["stat"] = current
                self._updated.add(key)
            if not Observations(**entry["observed"]).unchanged(self._checked):
                return None
            result = LintResult(
                path=str(path),
                diagnostics=[_diagnostic(item, str(path)) for item in entry["diagnostics"]],
                warnings=[str(w) for w in entry["warnings"]],
            )
            used = float(entry.get("used", 0))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # an entry this version cannot read: lint the notebook again
        if time.time() - used > 24 * 3600:
            entry["used"] = int(time.time())
            self._updated.add(key)
        return result

    def store(self, path: Path, result: LintResult) -> None:
        """Remember ``result`` for ``path`` (looked up before), unless it may be racy."""
        key = os.path.abspath(path)
        notebook = self._stats.get(key)
        observed = result.observations or Observations()
        if notebook is None or result.fixed:
            return
        recent = time.time_ns() - int(RACY_SECONDS * 1e9)
        if max(notebook[1], notebook[2], observed.newest_change_ns()) >= recent:
            return
        if signature(path) != notebook:
            return  # changed while it was linted: these findings may be of other bytes
        digest = content_hash(key)
        if digest is None:
            return
        self._entries[key] = {
            "stat": notebook,
            "hash": digest,
            "display": str(path),
            "observed": asdict(observed),
            "warnings": list(result.warnings),
            "diagnostics": [_diagnostic_json(d) for d in result.diagnostics],
            "used": int(time.time()),
        }
        self._updated.add(key)

    def save(self) -> None:
        """Write the entries this run added or refreshed, merged into what the file holds
        now (another nbprod may have saved since this one read it: the file is read again
        when its signature changed), atomically; drop stale
        entries and files. A cache that cannot be written is left as it was: linting has
        already succeeded."""
        if not self._updated:
            return
        if self._read_as is not None and signature(self.file) == self._read_as:
            entries = dict(self._entries)
        else:
            entries = self._read_entries()
            entries.update({key: self._entries[key] for key in self._updated})
        oldest = time.time() - STALE_SECONDS
        entries = {
            k: v for k, v in entries.items()
            if isinstance(v, dict) and isinstance(v.get("used"), int) and v["used"] >= oldest
        }
        text = json.dumps({"format": CACHE_FORMAT, "entries": entries}, separators=(",", ":"))
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.file, text, durable=False)
            for other in self.file.parent.glob("*.json"):
                if other != self.file and other.stat().st_mtime < oldest:
                    other.unlink(missing_ok=True)
        except OSError:
            pass
        self._updated.clear()

    def _read_entries(self) -> dict[str, dict]:
        """The entries in the cache file; none when it is missing or unreadable."""
        try:
            data = json.loads(self.file.read_bytes())
            if data.get("format") == CACHE_FORMAT and isinstance(data.get("entries"), dict):
                return data["entries"]
        except (OSError, ValueError, AttributeError):
            pass
        return {}


def settings_key(config: LintConfig, project_root: Path | None) -> str:
    """A hash of everything besides the notebook and the files it names that decides the
    findings (see the module docstring)."""
    parts = {
        "format": CACHE_FORMAT,
        "python": [sys.version, sys.executable],
        "config": json.dumps(asdict(config), sort_keys=True, default=repr),
        "root": os.path.abspath(project_root) if project_root else None,
        "code": _code_hash(),
        "ruff": _ruff_signature() if ruff_codes(config) else None,
        # NB207 and NB208 ask which distributions are installed and which modules import.
        "installed": metadata_folders(path_files=True),
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return blake3(text.encode()).hexdigest()[:32]


def _code_hash() -> str:
    """A hash of the bytes of every module of nbprod and of third-party rules (about 4 ms:
    stat times would change with every fresh install and miss a restored cache)."""
    package = Path(__file__).resolve().parent.parent
    modules = []
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        modules += [os.path.join(folder, name) for name in sorted(names) if name.endswith(".py")]
    registry = extended_registry()
    for _code, rule in registry.items() if registry is not None else ():
        origin = getattr(sys.modules.get(rule.__module__), "__file__", None)
        if origin and not origin.startswith(str(package)):
            modules.append(origin)
    digest = blake3()
    for module in modules:
        digest.update(os.path.relpath(module, package).encode() + b"\0")
        try:
            with open(module, "rb") as handle:
                digest.update(handle.read())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()


def _ruff_signature() -> list:
    """Which ruff runs: its path and the size of its binary (a new ruff changes its
    findings). The version of a ruff installed in this environment is also in the names of
    the installed distributions (``nbprod.distributions``)."""
    from .ruff_binary import ruff_binary

    binary = ruff_binary()
    found = signature(binary)
    return [binary, found and found[0]]


def _diagnostic_json(diagnostic: Diagnostic) -> dict:
    item = {}
    for name in _DIAGNOSTIC_FIELDS:
        value = getattr(diagnostic, name)
        if value is not None or name in _REQUIRED_FIELDS:
            item[name] = value.value if hasattr(value, "value") else value
    return item


def _diagnostic(item: dict, path: str) -> Diagnostic:
    values = dict(item)
    values["severity"] = Severity(values["severity"])
    if "fix_applicability" in values:
        values["fix_applicability"] = Applicability(values["fix_applicability"])
    return Diagnostic(path=path, **values)
