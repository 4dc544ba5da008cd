"""What ``lint --fix`` would change, without writing it (``--diff``).

The JupyterLab panel shows this before it fixes anything, cell by cell, and applies the fixed
cells to the open notebook's model, so JupyterLab's undo can take them back; the command line
prints it as unified diffs, as ``ruff --diff`` does.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from ..notebook import Notebook

__all__ = ["changes", "unified"]


def changes(before: Notebook, after: Notebook, edits: dict[Path, str]) -> dict[str, Any]:
    """Cells that differ (matched by id), and the other files the fixes would rewrite."""
    old = {_key(c, i): c for i, c in enumerate(before.cells)}
    new = {_key(c, i): c for i, c in enumerate(after.cells)}
    cells = []
    for key, cell in old.items():
        fixed = new.get(key)
        if fixed is None:
            cells.append(_change("removed", cell, None))
        elif (cell.source, cell.tags, len(cell.outputs)) != (
                fixed.source, fixed.tags, len(fixed.outputs)) or cell.outputs != fixed.outputs:
            cells.append(_change("modified", cell, fixed))
    for key, cell in new.items():
        if key not in old:
            cells.append(_change("added", None, cell))
    files = []
    folder = Path(before.path).parent if before.path else Path.cwd()
    for path, text in sorted(edits.items()):
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        # Named from the notebook's folder: no absolute path of this machine in the answer.
        shown = os.path.relpath(path, folder)
        files.append({"path": shown, "before": current, "after": text})
    return {"filename": before.display_path, "cells": cells, "files": files}


def unified(preview: dict[str, Any]) -> str:
    """The preview as unified diffs: one per changed cell, then one per other file."""
    parts = []
    name = preview["filename"]
    for cell in preview["cells"]:
        label = f"{name}:cell {cell['cell']}" if cell["cell"] else f"{name}:new cell"
        before, after = cell["before"] or {}, cell["after"] or {}
        lines = [f"--- {label} (before)", f"+++ {label} (fixed)"]
        lines += list(difflib.unified_diff(
            before.get("source", "").splitlines(), after.get("source", "").splitlines(),
            lineterm=""))[2:]
        if cell["change"] == "removed":
            lines.append("# the cell is removed")
        if before.get("outputs") and not after.get("outputs"):
            lines.append("# its outputs are cleared")
        elif cell.get("removed_outputs"):
            removed = cell["removed_outputs"]
            shown = ", ".join(str(i + 1) for i in removed)
            lines.append(f"# output{'s' if len(removed) > 1 else ''} {shown} of"
                         f" {before['outputs']} {'are' if len(removed) > 1 else 'is'} removed")
        if before.get("tags") != after.get("tags") and cell["change"] == "modified":
            lines.append(f"# tags: {before.get('tags')} -> {after.get('tags')}")
        parts.append("\n".join(lines))
    for edit in preview["files"]:
        parts.append("\n".join(difflib.unified_diff(
            edit["before"].splitlines(), edit["after"].splitlines(),
            f"{edit['path']} (before)", f"{edit['path']} (fixed)", lineterm="")))
    return "".join(part + "\n\n" for part in parts)


def _key(cell, index: int) -> str:
    return cell.id or f"#{index}"


def _state(cell) -> dict[str, Any]:
    return {"source": cell.source, "tags": list(cell.tags), "outputs": len(cell.outputs)}


def _change(kind: str, before, after) -> dict[str, Any]:
    where = before if before is not None else after
    change = {"change": kind, "cell": before.index if before is not None else None,
              "cell_id": where.id, "cell_type": where.cell_type,
              "before": _state(before) if before is not None else None,
              "after": _state(after) if after is not None else None}
    if before is not None and after is not None:
        removed = _removed_outputs(before.outputs, after.outputs)
        if removed:
            change["removed_outputs"] = removed
    return change


def _removed_outputs(before: list, after: list) -> list[int]:
    """The 0-based positions of ``before``'s outputs that ``after`` no longer has, when
    ``after`` keeps the others as they were (NB007 removes an error output and keeps what
    the cell printed); every position when it keeps none (a clear). The panel removes
    exactly these from the open notebook."""
    kept = iter(after)
    wanted = next(kept, None)
    removed = []
    for position, output in enumerate(before):
        if wanted is not None and output == wanted:
            wanted = next(kept, None)
        else:
            removed.append(position)
    return removed if wanted is None and removed else []
