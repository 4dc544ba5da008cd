"""The fingerprint of everything an export depends on, so an unchanged re-export is a read.

Generated files record it in their header. When every file a notebook would produce is on
disk, unedited, and records the current fingerprint, regenerating would give the same bytes:
``plan_export`` then only reads those files (about the cost of loading the notebook) instead
of analysing and rendering it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, replace
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath

from ..notebook import Notebook
from ..template_paths import template_dir
from ..version import __version__
from .config import ExportConfig, Layout

__all__ = ["fingerprint", "expected_paths"]

# Modules whose code decides what export generates: a change to any of them (an upgrade, or
# an edit in a development checkout) changes every fingerprint.
_GENERATOR_SOURCES = ("analysis.py", "params/cell.py", "params/model.py", "pipeline_ir.py")


@lru_cache(maxsize=1)
def _generator_digest() -> str:
    digest = hashlib.sha256(__version__.encode())
    package = resources.files("nbprod")
    export_dir = package.joinpath("export")
    names = sorted(p.name for p in export_dir.iterdir() if p.name.endswith(".py"))
    files = [export_dir.joinpath(n) for n in names]
    templates = template_dir("export")
    files += [templates / n for n in sorted(p.name for p in templates.iterdir())]
    files += [package.joinpath(*n.split("/")) for n in _GENERATOR_SOURCES]
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def fingerprint(nb: Notebook, layout: Layout) -> str:
    """A short hash of the notebook's cells, the export settings and nbprod's generators.

    ``strict`` is left out: it decides whether a cell that cannot be exported refuses the
    export or is left out, never what an export that succeeds writes, so ``export --strict``
    and ``export --check`` agree on files that are up to date. So is the text of markdown
    and raw cells, which no export reads: editing the prose of a notebook leaves its
    generated files (and the service ``nbprod serve`` checks) up to date. Their places
    count, as the code cells' numbers do.
    """
    digest = hashlib.sha256(_generator_digest().encode())
    settings = replace(layout.config, strict=False)
    digest.update(repr((layout.notebook, astuple(settings), str(layout.module_path),
                        layout.module_import, nb.node.get("nbformat_minor"))).encode())
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(repr((cell.cell_type, cell.id, cell.tags, cell.source)).encode())
        else:
            digest.update(repr((cell.cell_type,)).encode())
    return digest.hexdigest()[:32]


def expected_paths(nb: Notebook, layout: Layout,
                   config: ExportConfig) -> list[PurePosixPath] | None:
    """The files a successful export of ``nb`` writes, from its marks alone (no analysis);
    None when a third-party exporter is configured (its files cannot be known in advance)."""
    if any(name not in ("module", "tests", "steps", "service") for name in config.exporters):
        return None
    roles = set()
    for cell in nb.code_cells:
        marks = cell.marks
        if "skip" in marks or "parameters" in marks:
            continue
        if "serve" in marks:
            roles.update(("module", "service"))
        elif "export" in marks:
            roles.add("module")
        elif "test" in marks:
            roles.add("tests")
        elif cell.step is not None:
            roles.add("steps")
    paths = {
        "module": [layout.module_path],
        "tests": [layout.tests_path],
        "steps": [layout.pipeline_path, layout.pipeline_json_path],
        "service": [layout.service_path],
    }
    return [p for name in config.exporters if name in roles for p in paths.get(name, [])]
