"""Which API-drift lint rule (NB5xx) predicted that a cell breaks with newer packages.

``nbprod reproduce --upgrade`` runs a notebook with some packages at their newest versions;
when a cell then fails, the NB5xx findings in that very cell (calls of APIs that newer pandas,
scikit-learn or matplotlib removed) are what lint would have said beforehand. Reporting them
tells the user whether lint alone would have caught it, and how to fix the cell.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["drift_findings"]


def drift_findings(source: bytes, path: Path, cell: int) -> list[dict]:
    """The NB5xx findings of cell ``cell`` (1-based) of the notebook ``source``."""
    from ..lint.checker import LintConfig, lint
    from ..notebook import loads

    nb = loads(source, path=path)
    result = lint(nb, LintConfig(select=("NB5",), ruff=False))
    return [{"code": d.code, "name": d.name, "message": d.message, "cell": d.cell,
             "line": d.line} for d in result.diagnostics if d.cell == cell]
