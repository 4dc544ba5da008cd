"""Helpers for export tests: export an in-memory notebook and look at the generated files."""

from __future__ import annotations

import nbformat
from notebook_builder import make_notebook

from nbprod.export import ExportConfig, export
from nbprod.notebook import loads


def generate(*cells, name: str = "nb.ipynb", **config) -> dict[str, str]:
    """Export the notebook built from ``cells``; returns {relative path: text}.

    Strict unless told otherwise, so a cell that cannot be exported raises its message; pass
    ``strict=False`` to see what a default export leaves out.
    """
    config.setdefault("strict", True)
    nb = loads(nbformat.writes(make_notebook(*cells)), path=f"/project/{name}")
    artifacts = export(nb, ExportConfig(**config), root="/project")
    return {str(a.path): a.text for a in artifacts}
