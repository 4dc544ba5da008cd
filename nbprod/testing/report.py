"""The failure report of a notebook test: where it failed, the cell's source, diff or traceback."""

from __future__ import annotations

from .execute import CellProblem

__all__ = ["format_problems"]

_SOURCE_LINES = 30  # longer cells are cut in the report; the notebook has the rest


def format_problems(where: str, problems: list[CellProblem]) -> str:
    """Render the problems of one notebook for pytest's failure section.

    Each problem starts with a one-line headline naming the notebook, the cell number and id
    (``analysis.ipynb: cell 4 (id 'c4'): raised ValueError: bad``), then shows the cell's source
    with line numbers, then the traceback or the unified diff of stored and new outputs.
    """
    blocks = [_format(where, problem) for problem in problems]
    return "\n\n".join(blocks)


def _format(where: str, problem: CellProblem) -> str:
    cell = problem.cell
    location = f"{where}: {cell.label}" if cell else where
    # "setup" problems are nbprod errors whose message already names the file.
    lines = [problem.summary if problem.kind == "setup" else f"{location}: {problem.summary}"]
    if cell is not None:
        lines.append("")
        lines.append(f"--- source of {cell.label} ---")
        source = cell.source.splitlines()
        width = len(str(min(len(source), _SOURCE_LINES)))
        for number, text in enumerate(source[:_SOURCE_LINES], start=1):
            lines.append(f"{number:>{width}} | {text}")
        if len(source) > _SOURCE_LINES:
            lines.append(f"{'':>{width}} | ... ({len(source) - _SOURCE_LINES} more lines)")
    if problem.detail:
        title = {"mismatch": "outputs (stored vs new, after normalising)",
                 "kernel": "the kernel process's own output, last lines"}.get(
            problem.kind, "traceback"
        )
        lines.append("")
        lines.append(f"--- {title} ---")
        lines.append(problem.detail.rstrip())
    return "\n".join(lines)
