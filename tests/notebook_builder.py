"""Build small notebooks in memory for tests (deterministic cell ids, so goldens are stable).

A module of its own rather than a conftest import: several test folders have a conftest.py,
and ``from conftest import ...`` would pick whichever was imported first.
"""

from __future__ import annotations

import nbformat


def make_notebook(*cells, minor: int = 5, metadata: dict | None = None) -> nbformat.NotebookNode:
    """Build a notebook from cell specs.

    Each spec is a source string (a code cell), or a dict with ``source`` and optionally
    ``cell_type``, ``tags``, ``execution_count``, ``outputs``. Cell ids are deterministic
    (``c1``, ``c2`` ...), so golden files are stable.
    """
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = minor
    nb.metadata = metadata or {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for index, spec in enumerate(cells, start=1):
        if isinstance(spec, str):
            spec = {"source": spec}
        kind = spec.get("cell_type", "code")
        if kind == "code":
            cell = nbformat.v4.new_code_cell(spec["source"])
            cell.execution_count = spec.get("execution_count")
            cell.outputs = [nbformat.from_dict(o) for o in spec.get("outputs", [])]
        elif kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(spec["source"])
        else:
            cell = nbformat.v4.new_raw_cell(spec["source"])
        if spec.get("tags"):
            cell.metadata["tags"] = list(spec["tags"])
        if minor >= 5:
            cell.id = spec.get("id", f"c{index}")
        else:
            cell.pop("id", None)
        nb.cells.append(cell)
    return nb
