"""The packages a notebook installs in its exported cells, declared for the exported code.

``!pip install xgboost`` in an exported or step cell is left out of the generated code (it is
not code); the package it installs is declared instead, where lint's NB203 fix declares it
(the project's requirements.txt, else its pyproject.toml's dependencies, else a new
requirements.txt), so the generated module's environment is complete. Only plain
``pip install NAME...`` lines are declared; other installers and options are reported.
"""

from __future__ import annotations

from pathlib import Path

from ..notebook import Notebook

__all__ = ["declaration"]


def declaration(nb: Notebook, project_root: Path) -> tuple[Path, str, list[str]] | None:
    """(file, its new text, the new requirements) for the installs of the exported cells, or
    None when there is nothing to declare (none, or all declared already)."""
    from ..lint.declare import requirement_name
    from ..lint.rules.portability import declaration_target, movable_requirements

    specs: list[str] = []
    for cell in nb.code_cells:
        if not (cell.marks & {"export", "test"} or cell.step):
            continue
        for line in cell.source.splitlines():
            found = movable_requirements(line) if line.lstrip().startswith(("%", "!")) else None
            specs += [s for s in found or [] if s not in specs]
    if not specs or nb.path is None:
        return None
    folders = list(dict.fromkeys([project_root, Path(nb.path).parent]))

    def read(path: Path) -> str | None:
        return path.read_text(encoding="utf-8") if path.is_file() else None

    target = declaration_target(folders, specs, read)
    if target is None or target[1] is None:
        return None
    path, text = target
    before = read(path) or ""
    added = [s for s in specs if requirement_name(s) not in before]
    return path, text, added
