"""Which installed distributions provide which top-level modules (``sklearn`` is provided
by ``scikit-learn``), as NB207 needs to compare a notebook's imports with a project's
declared dependencies.

``importlib.metadata.packages_distributions()`` answers by reading the metadata of every
distribution on ``sys.path``: about 0.1 s in an environment of 200 distributions, plus
30 ms to import ``importlib.metadata``. That was most of the time of linting one notebook
of a project with a requirements file (a pre-commit hook), and each worker process of a
larger run that needed it paid it again. The answer depends only on what is installed, so:

- ``prepare`` answers before workers fork (they inherit the answer), from the lint cache
  folder, where the answer is kept as JSON keyed by the Python version and the names of
  the distributions' metadata folders (``nbprod.distributions``, which hold the versions:
  installing, removing or upgrading a distribution changes the key);
- without a cache (``--no-cache``), the answer is computed when first needed, once per
  process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..distributions import metadata_folders

__all__ = ["module_distributions", "prepare"]

_answer: dict[str, tuple[str, ...]] | None = None


def module_distributions() -> dict[str, tuple[str, ...]]:
    """Top-level module name -> the names of the installed distributions providing it."""
    global _answer
    if _answer is None:
        _answer = _computed()
    return _answer


def prepare(cache_folder: Path | None) -> None:
    """Answer ``module_distributions`` now, from ``cache_folder`` when it holds this
    environment's answer, else computed and kept there. Without a folder (``--no-cache``)
    nothing is done: the answer is computed where it is first needed, as only the
    notebooks of a project that declares its dependencies need it. A cache that cannot be
    read or written only means computing again."""
    global _answer
    if _answer is not None or cache_folder is None:
        return
    file = cache_folder / f"modules-{_environment_key()}.json"
    try:
        data = json.loads(file.read_bytes())
        if isinstance(data, dict) and all(
                isinstance(names, list) and all(isinstance(n, str) for n in names)
                for names in data.values()):
            _answer = {module: tuple(names) for module, names in data.items()}
            return
    except (OSError, ValueError):
        pass
    _answer = _computed()
    from ..fsutil import atomic_write

    try:
        cache_folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(file, json.dumps(_answer, sort_keys=True), durable=False)
    except OSError:
        pass


def _computed() -> dict[str, tuple[str, ...]]:
    from importlib.metadata import packages_distributions

    try:
        return {module: tuple(names) for module, names in packages_distributions().items()}
    except Exception:  # a broken installed distribution must not break linting
        return {}


def _environment_key() -> str:
    """A hash of the Python version and the installed distributions with their versions
    (``nbprod.distributions``): what ``packages_distributions`` reads."""
    from blake3 import blake3

    listing = [sys.version, metadata_folders()]
    return blake3(json.dumps(listing).encode()).hexdigest()[:32]
