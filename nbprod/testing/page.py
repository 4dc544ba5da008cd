"""The HTML page of a failing notebook test (``pytest --nbprod --nbprod-report DIR``).

The same page as ``nbprod runs report`` gives a run, so a CI artifact reads like any other
report: the problem and the failing cell at the top, linked to the executed notebook below.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write
from .execute import NotebookOutcome

__all__ = ["write_failure_page"]


def write_failure_page(folder: Path, where: str, outcome: NotebookOutcome,
                       parameters: dict[str, Any]) -> Path:
    """Write the report of one failing notebook into ``folder``; return the file's path."""
    from ..report import notebook_page
    from ..report.context import test_context

    problem = outcome.problems[0]
    cell = problem.cell
    context = test_context(
        where, summary=problem.summary, cell=cell.index if cell else None,
        cell_id=cell.id if cell else None, parameters=parameters, test=f"pytest {where}")
    failing = cell.id if cell else None
    for executed in outcome.notebook.get("cells", []):
        if failing and executed.get("id") == failing:
            tags = executed.setdefault("metadata", {}).setdefault("tags", [])
            tags.append("nbprod-failed")
    html = notebook_page(outcome.notebook, context, f"nbprod test failure: {where}")
    target = folder / (re.sub(r"[^A-Za-z0-9._-]+", "_", where.removesuffix(".ipynb")) + ".html")
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(target, html)
    return target
