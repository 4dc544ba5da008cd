"""Which tagged cells go into the generated files, and why the others are left out.

Real notebooks carry habits a Python file cannot hold: a shell line in a cell of a step, a
cell reading a name a later cell defines, an ``export`` cell that registers an IPython magic.
By default such a cell is left out of what it was tagged for, like a ``skip`` cell, and the
export report names the cell, the reason and the fix, once; the rest of the notebook exports.
A cell reading a name that a left-out cell sets is left out too, so no generated file computes
with a value the notebook would not have had. With ``strict`` the first such cell refuses the
export instead (exit 2), as a CI check of a curated notebook wants.

The module and the tests are settled here; the steps, which depend on the data flow between
cells, leave out their own cells in ``steps.plan_steps`` by the same rule.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import replace

from ..errors import CellExportError, NbprodWarning
from ..notebook import Notebook
from .cells import SourceCell, classify, python_problem
from .config import Layout

__all__ = ["LEFT_OUT_HINT", "leave_out", "ipython_only", "left_out", "select_cells",
           "warn_left_out"]

#: Appended to every note about a left-out cell.
LEFT_OUT_HINT = "the rest is exported; tag the cell skip to silence this, --strict to refuse"

#: Decorators that register IPython magics: they call get_ipython() when the module loads.
_MAGIC_DECORATORS = frozenset({
    "register_cell_magic", "register_line_magic", "register_line_cell_magic", "magics_class",
    "cell_magic", "line_magic", "line_cell_magic",
})


#: Names a kernel provides, with what makes the code work outside one.
_KERNEL_NAMES = {
    "get_ipython": "keep kernel code out of export cells",
    "display": "import it (from IPython.display import display) or print instead",
}


def select_cells(nb: Notebook, layout: Layout) -> list[SourceCell]:
    """The classified cells with every export or test cell that cannot be exported turned into
    a ``skip`` cell; each such cell is reported once as an ``NbprodWarning``.

    Raises
    ------
    CellExportError
        With ``strict`` in the export settings, for the first cell that cannot be exported.
    """
    cells = classify(nb)
    key = (layout.notebook, layout.config.strict, layout.module_import)
    cached = getattr(nb, "_export_selection", None)
    if cached is not None and cached[0] is cells and cached[1] == key:
        return cached[2]
    from .module import check_names  # the exporters import this module
    from .tests import needed_names

    where = layout.notebook
    left: dict[int, str] = {}
    provided = {n for c in cells if c.role == "export" for n in c.analysis.defines}
    for sc in cells:
        purpose = {"export": f"the module {layout.module_import}", "test": "a test"}.get(sc.role)
        if purpose is None:
            continue
        problem = python_problem(sc, where, purpose) or (
            ipython_only(sc, where, provided) if sc.role == "export" else None)
        if problem is not None:
            _leave(left, sc.index, problem, layout.config.strict)
    while True:
        current = leave_out(cells, left)
        try:
            check_names(current, [c for c in current if c.role == "export"], where, "the module")
            tests = [c for c in current if c.role == "test"]
            if tests:
                params = next((c for c in current if c.role == "parameters"), None)
                needed_names(current, tests, [c for c in current if c.role == "export"], params,
                             where)
            break
        except CellExportError as exc:
            if exc.cell in left:
                raise  # cannot happen: a left-out cell is a skip cell, never checked again
            _leave(left, exc.cell, str(exc), layout.config.strict)
    warn_left_out(left)
    nb._export_selection = (cells, key, current, left)  # type: ignore[attr-defined]
    return current


def left_out(nb: Notebook, layout: Layout) -> dict[int, str]:
    """The cells ``select_cells`` leaves out (by index), each with the reason it gave."""
    select_cells(nb, layout)
    return dict(nb._export_selection[3])  # type: ignore[attr-defined]


def leave_out(cells: list[SourceCell], left: dict[int, str]) -> list[SourceCell]:
    """``cells`` with those indexed in ``left`` made ``skip`` cells."""
    return [replace(sc, role="skip", step=None) if sc.index in left else sc for sc in cells]


def warn_left_out(left: dict[int, str]) -> None:
    """One warning per left-out cell: the reason already names the cell and the fix; the
    first also says what leaving out means."""
    for number, reason in enumerate(left.values()):
        hint = f" [{LEFT_OUT_HINT}]" if number == 0 else ""
        warnings.warn(f"left out: {reason}{hint}", NbprodWarning, stacklevel=3)


def ipython_only(sc: SourceCell, where: str, provided: set[str]) -> str | None:
    """Why an export cell's code needs a running IPython: it calls ``get_ipython`` or
    ``display`` that no export cell imports, or registers a magic."""
    tree = sc.analysis.tree
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Name) and node.id in _KERNEL_NAMES and node.id not in provided:
            fix = _KERNEL_NAMES[node.id]
            return (f"{where} {sc.cell.label}, line {node.lineno}: {node.id!r} exists only in"
                    f" a Jupyter kernel, not in the module (it would fail when it runs); {fix}")
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(
                    target, "id", "")
                if name in _MAGIC_DECORATORS:
                    return (f"{where} {sc.cell.label}, line {decorator.lineno}: @{name} registers"
                            " an IPython magic, which needs a running kernel (the module would"
                            " fail on import)")
    return None


def _leave(left: dict[int, str], index: int, reason: str, strict: bool) -> None:
    if strict:
        raise CellExportError(reason, index)
    left[index] = reason
