"""The ``export`` cells of a notebook -> one importable module with ``__all__``."""

from __future__ import annotations

import ast
import builtins
from typing import ClassVar

from ..analysis import ALWAYS_DEFINED
from ..errors import CellExportError
from ..notebook import Notebook
from ..syntax import parse
from .base import Artifact
from .cells import SourceCell, require_python
from .config import Layout
from .provenance import cell_marker, stamp_python
from .render import noqa_codes, python_list, render, sorted_names

__all__ = [
    "IPYTHON_NAMES", "ModuleExporter", "check_names", "exported_names", "import_lines",
    "split_future_imports",
]

#: Names a kernel provides that a plain Python module does not.
IPYTHON_NAMES = ALWAYS_DEFINED - frozenset(dir(builtins)) - {
    "__file__", "__name__", "__builtins__", "__doc__"}


class ModuleExporter:
    """Writes ``<package>/<module>.py`` from the notebook's ``export`` cells."""

    name: ClassVar[str] = "module"

    def export(self, nb: Notebook, layout: Layout) -> list[Artifact]:
        """Return the module artifact, or nothing when no cell is tagged ``export``.

        Raises
        ------
        ExportError
            When an export cell holds IPython syntax, does not parse, or uses a name that only
            an unexported cell (or no cell) defines.
        """
        from .selection import select_cells  # selection checks with this module's rules

        cells = select_cells(nb, layout)
        exported = [c for c in cells if c.role == "export"]
        if not exported:
            return []
        for sc in exported:  # problems were settled by select_cells: this notes dropped lines
            require_python(sc, layout.notebook, f"the module {layout.module_import}")
        check_names(cells, exported, layout.notebook, "the module")
        futures, parts = [], []
        for sc in exported:
            code, found = split_future_imports(sc.code)
            futures.extend(f for f in found if f not in futures)
            marker = cell_marker(sc.cell.id, sc.index, layout.notebook)
            parts.append(f"{marker}\n{code.strip(chr(10)).rstrip()}" if code.strip() else marker)
        names = sorted_names(exported_names([c for c in exported if not c.internal]))
        codes = ["\n".join(futures)] if futures else []
        codes += [sc.analysis.tree if sc.analysis.tree is not None and not futures
                  else split_future_imports(sc.code)[0] for sc in exported]
        body = render(
            "module.py.j2",
            noqa=noqa_codes(codes, names),
            futures=futures,
            dunder_all=python_list(names),
            cells="\n\n\n".join(parts),
        )
        text = stamp_python(body, layout.notebook, layout.inputs)
        return [Artifact(layout.module_path, text, self.name,
                         layout.notebook)]


def exported_names(cells: list[SourceCell]) -> list[str]:
    """Public names the cells define at top level (functions, classes, constants), in order."""
    names: list[str] = []
    for sc in cells:
        tree = sc.analysis.tree
        if tree is None:
            continue
        for stmt in tree.body:
            for name in _top_level_names(stmt):
                if not name.startswith("_") and name not in names:
                    names.append(name)
    return names


def _top_level_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets = [stmt.target]
    names = []
    for target in targets:
        elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        names.extend(e.id for e in elements if isinstance(e, ast.Name))
    return names


def check_names(cells: list[SourceCell], selected: list[SourceCell], where: str,
                what: str) -> None:
    """Refuse selected cells that read names their generated file will not have.

    Top-level reads must come from an earlier selected cell; reads inside function bodies
    from any selected cell. A name defined only by other cells is named with its cell, so
    the user knows which cell to tag.

    Raises
    ------
    CellExportError
        Naming the reading cell, the name, its line, and the cell that defines it (if any).
    """
    if any(sc.analysis.star_imports for sc in selected):
        return  # a star import may provide anything; ruff's F405 is the user's guide then
    defined_by_selected: dict[str, int] = {}
    for sc in selected:
        for name in sc.analysis.defines:
            defined_by_selected.setdefault(name, sc.index)
    seen: set[str] = set()
    for sc in selected:
        reads = [(n, line, False) for n, line in sc.analysis.uses.items()]
        reads += [(n, line, True) for n, line in sc.analysis.function_reads.items()]
        for name, line, in_function in reads:
            if name in ALWAYS_DEFINED and name not in IPYTHON_NAMES:
                continue
            available = name in seen or (in_function and name in defined_by_selected)
            if available:
                continue
            raise CellExportError(_missing_message(cells, sc, name, line, where, what), sc.index)
        seen |= set(sc.analysis.defines)


def _missing_message(cells: list[SourceCell], sc: SourceCell, name: str, line: int,
                     where: str, what: str) -> str:
    label = f"{where} {sc.cell.label}, line {line}"
    if name in IPYTHON_NAMES:
        hint = "from IPython.display import display" if name == "display" else None
        fix = f"import it in the cell ({hint})" if hint else "use plain Python instead"
        return f"{label}: {name!r} exists only in a Jupyter kernel, not in {what}; {fix}"
    definers = [c for c in cells if name in c.analysis.defines and c is not sc]
    if not definers:
        return (
            f"{label}: {name!r} is not defined by any cell, so {what} would fail with NameError;"
            " define it in a cell with the same tag"
        )
    other = definers[0]
    role = "untagged" if other.role == "plain" else f"tagged {other.role}"
    if other.role == sc.role or (other.role == "export" and other.index > sc.index):
        return (
            f"{label}: {name!r} is used before {other.cell.label} defines it; move the"
            " definition up"
        )
    return (
        f"{label}: {name!r} is defined only in {other.cell.label} ({role}), which does not go"
        f" into {what}; tag {other.cell.label} export, or define {name!r} in this cell"
    )


def split_future_imports(code: str) -> tuple[str, list[str]]:
    """Take ``from __future__ import ...`` lines out of a cell: they must open the module."""
    if "__future__" not in code:
        return code, []
    try:
        tree = parse(code)
    except SyntaxError:
        return code, []
    lines = code.split("\n")
    found, remove = [], set()
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            found.append(ast.unparse(stmt))
            remove.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    kept = [line for number, line in enumerate(lines, start=1) if number not in remove]
    return "\n".join(kept), found


def import_lines(names: list[str], exported: list[SourceCell],
                 module_import: str) -> list[str]:
    """Import statements for ``names`` (one line each, unsorted): re-imported from their
    source when an export cell imported them (``import numpy as np``), else from the exported
    module. ``render.import_block`` orders and groups them."""
    imported: dict[str, str] = {}
    for sc in exported:
        tree = sc.analysis.tree
        for stmt in tree.body if tree is not None else []:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    text = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                    imported.setdefault(bound, text)
            elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module \
                    and stmt.module != "__future__":
                for alias in stmt.names:
                    if alias.name == "*":
                        continue
                    bound = alias.asname or alias.name
                    as_part = f" as {alias.asname}" if alias.asname else ""
                    imported.setdefault(bound, f"from {stmt.module} import {alias.name}{as_part}")
    statements = sorted({imported[n] for n in names if n in imported})
    own = [n for n in names if n not in imported]
    if own:
        statements.append(f"from {module_import} import {', '.join(own)}")
    return statements
