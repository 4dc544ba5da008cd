"""The distributions installed where imports resolve, named by their metadata folders.

Each installed distribution has a ``name-version.dist-info`` (or ``.egg-info``) folder in a
folder of ``sys.path``. The list of those names changes when a package is installed, removed
or upgraded, and listing a few folders takes about a millisecond, where reading every
distribution's metadata takes a tenth of a second or more. Caches whose answers depend on
what is installed are keyed by it: the pipeline's step cache (``environment_fingerprint``),
the lint cache's settings and its map of modules to distributions
(``nbprod.lint.installed``).
"""

from __future__ import annotations

import os
import sys

__all__ = ["metadata_folders"]


def metadata_folders(*, path_files: bool = False) -> list[str]:
    """The names of the ``*.dist-info`` and ``*.egg-info`` folders on ``sys.path``,
    lower-cased, sorted, each once; with ``path_files``, the ``*.pth`` files too (which put
    more folders on ``sys.path``: an editable install, a path added by hand)."""
    suffixes = (".dist-info", ".egg-info", ".pth") if path_files else (".dist-info", ".egg-info")
    found: set[str] = set()
    for entry in sys.path:
        try:
            listing = os.scandir(entry or ".")
        except OSError:  # a zip file or a folder that is gone
            continue
        with listing:
            for item in listing:
                if item.name.endswith(suffixes):
                    found.add(item.name.lower())
    return sorted(found)
