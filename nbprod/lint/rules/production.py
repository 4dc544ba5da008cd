"""NB3xx: export readiness, i.e. whether `export` cells make an importable module."""

from __future__ import annotations

import ast

from ...analysis import ALWAYS_DEFINED, CellAnalysis
from ...notebook import Cell
from ..rule import LintContext, Rule, Severity
from ._helpers import (
    call_name,
    cell_calls,
    magic_span,
    span,
    star_import_names,
    unreached_calls,
    walk_calls,
)
from .secrets import quoted

__all__ = ["RULES"]

EXPORT = "export"


def _export_cells(ctx: LintContext) -> list[tuple[Cell, CellAnalysis]]:
    """Code cells marked ``export`` with their analysis (marks are read once per notebook)."""
    return ctx.memo(
        "export_cells", lambda: [(c, r) for c, r in ctx.code_cells if EXPORT in c.marks]
    )


def _defined_in(ctx: LintContext, exported: bool) -> set[str]:
    names: set[str] = set()
    export = {id(cell) for cell, _result in _export_cells(ctx)}
    for cell, result in ctx.code_cells:
        if (id(cell) in export) == exported:
            names |= set(result.defines)
    return names


def _notebook_only(ctx: LintContext) -> set[str]:
    """Names defined by non-export cells only: the exported module will not have them."""
    return ctx.memo(
        "notebook_only", lambda: _defined_in(ctx, False) - _defined_in(ctx, True) - ALWAYS_DEFINED
    )


def _star_imports(ctx: LintContext) -> list[tuple[int, int, str]]:
    """(cell index, line, module) of each star import (`from os.path import *`) in an
    export cell."""
    return ctx.memo("export_star_imports", lambda: [
        (cell.index, line, module) for cell, result in _export_cells(ctx)
        for module, line in result.star_imports
    ])


def _star_may_provide(ctx: LintContext, name: str, cell: int, line: int | None) -> bool:
    """Whether a star import in an export cell may give the module ``name``: one that runs
    before ``line`` of ``cell`` (any one when ``line`` is None: a function body runs after
    the whole module) and binds the name, or binds names that cannot be known."""
    for index, star, module in _star_imports(ctx):
        if line is not None and (index > cell or (index == cell and star > line)):
            continue
        names = star_import_names(module)
        if names is None or name in names:
            return True
    return False


class MagicInExportCell(Rule):
    """## What it does
    Checks for IPython magics (`%time`, `%%capture`), shell escapes (`!ls`) and help
    syntax (`obj?`) in cells marked `export` (tag or nbdev `#| export`).

    ## Why is this bad?
    Exported cells become a plain Python module. IPython syntax is not Python: the export
    has to drop the line, and the module behaves differently from the notebook.

    ## Example
    ```python
    #| export
    %matplotlib inline
    def plot_losses(losses): ...
    ```

    ## Use instead
    Keep magics in cells that are not exported.
    """

    code = "NB301"
    name = "magic-in-export-cell"
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in _export_cells(ctx):
            for magic in result.magics:
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"IPython syntax in an `export` cell ({quoted(magic.text, 40)}); the module"
                    " cannot contain it: move it to a cell that is not exported",
                    **magic_span(cell, magic.line).kwargs(),
                )


# Calls that do I/O or produce output when the module is imported.
_SIDE_EFFECT_CALLS = {"print", "display", "open", "input", "exec", "eval", "breakpoint"}
_SIDE_EFFECT_PREFIXES = (
    "matplotlib.pyplot.", "pandas.read_", "requests.", "urllib.request.", "subprocess.",
    "os.system", "os.remove", "os.makedirs", "os.mkdir", "shutil.", "IPython.display.",
    "seaborn.", "plotly.express.", "wandb.", "mlflow.",
)
_SIDE_EFFECT_METHODS = {
    "to_csv", "to_parquet", "to_excel", "to_pickle", "to_json", "savefig", "show", "plot",
    "write_text", "write_bytes", "mkdir", "unlink", "fit", "download", "head", "describe",
}


def _side_effect(ctx: LintContext, stmt: ast.stmt) -> tuple[ast.AST, str] | None:
    """The node and a description when ``stmt`` does work at import time."""
    if isinstance(stmt, ast.Expr):
        if isinstance(stmt.value, ast.Constant):  # docstrings, `...`
            return None
        return stmt, "a top-level expression"
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                         ast.ImportFrom)):
        return None
    if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
        return None
    for call in walk_calls(stmt):
        name = call_name(ctx, call) or ""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        if (name in _SIDE_EFFECT_CALLS or name.startswith(_SIDE_EFFECT_PREFIXES)
                or method in _SIDE_EFFECT_METHODS):
            return call, f"a call of `{name or method}`"
    return None


class ExportCellSideEffect(Rule):
    """## What it does
    Checks `export` cells for statements that do work when the module is imported:
    bare expressions (a displayed value, a call), printing, plotting, reading or writing
    files, network access, model fitting.

    ## Why is this bad?
    Whatever an export cell does at top level, `import mymodule` does too: every test and
    every pipeline step that imports it prints, plots, reads data or trains a model before
    it starts.

    ## Example
    ```python
    #| export
    df = pd.read_csv("data/train.csv")
    def clean(df): ...
    df.head()
    ```

    ## Use instead
    Export only definitions and constants; keep the calls in cells that are not exported:
    ```python
    #| export
    def clean(df): ...
    ```
    """

    code = "NB302"
    name = "export-cell-side-effect"

    def check(self, ctx):
        for cell, result in _export_cells(ctx):
            if result.tree is None:
                continue
            for stmt in result.tree.body:
                found = _side_effect(ctx, stmt)
                if found is None:
                    continue
                node, what = found
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"`export` cell runs {what} at import time; move it to a cell that is not"
                    " exported",
                    **span(result, node).kwargs(),
                )


def _name_loads(node: ast.AST, names: set[str]):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in names:
            yield sub


class FunctionReadsNotebookGlobal(Rule):
    """## What it does
    Checks functions and classes in `export` cells for globals they read that only
    non-exported cells define. A name that a star import in an exported cell may bind
    (`from os.path import *`) is not reported: one of the module's names when nbprod can
    list them without running the module, any name otherwise (`from fastcore.all import *`).

    ## Why is this bad?
    In the notebook the global exists because an earlier cell made it. The exported
    module has no such cell: calling the function from the module raises `NameError`, or
    the function silently depends on notebook state.

    ## Example
    ```python
    # cell 1 (not exported)
    THRESHOLD = 0.7

    # cell 2
    #| export
    def flag(scores):
        return scores > THRESHOLD
    ```

    ## Use instead
    Export the constant too, or pass it as an argument:
    ```python
    #| export
    def flag(scores, threshold=0.7):
        return scores > threshold
    ```
    """

    code = "NB303"
    name = "function-reads-notebook-global"
    severity = Severity.ERROR

    def check(self, ctx):
        missing = _notebook_only(ctx)
        for cell, result in _export_cells(ctx):
            if result.tree is None:
                continue
            for stmt in result.tree.body:
                if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                reads = {
                    name for name in result.functions.get(stmt.name, set()) & missing
                    if not _star_may_provide(ctx, name, cell.index, None)
                }
                reported: set[str] = set()
                for node in _name_loads(stmt, reads):
                    if node.id in reported:
                        continue
                    reported.add(node.id)
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"`{stmt.name}` reads the global `{node.id}`, which only cells that are"
                        " not exported define; export it or pass it as an argument",
                        **span(result, node).kwargs(),
                    )


class ExportUsesNotebookGlobal(Rule):
    """## What it does
    Checks top-level code of `export` cells (constants, default values, decorators, base
    classes) for names that only non-exported cells define. A name that a star import in
    an exported cell above it (an earlier export cell, or higher in the same one) may bind
    is not reported, as for NB303.

    ## Why is this bad?
    Importing the exported module evaluates that code without the notebook's other cells:
    `import mymodule` raises `NameError`.

    ## Example
    ```python
    # cell 1 (not exported)
    columns = ["age", "income"]

    # cell 2
    #| export
    FEATURES = columns + ["tenure"]
    ```

    ## Use instead
    Export the cell that defines `columns`, or define the constant in the export cell.
    """

    code = "NB304"
    name = "export-uses-notebook-global"
    severity = Severity.ERROR

    def check(self, ctx):
        missing = _notebook_only(ctx)
        for cell, result in _export_cells(ctx):
            if result.tree is None:
                continue
            for name, line in sorted(result.uses.items(), key=lambda item: item[1]):
                if name not in missing or _star_may_provide(ctx, name, cell.index, line):
                    continue
                hits = [
                    n for n in _name_loads(result.tree, {name}) if n.lineno == line
                ]
                where = span(result, hits[0]).kwargs() if hits else {"line": line}
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"`{name}` is defined only in cells that are not exported; `import` of the"
                    " module raises NameError",
                    **where,
                )


class InteractiveInput(Rule):
    """## What it does
    Checks for calls that wait for a person at the keyboard: `input()`,
    `getpass.getpass()`, where a top-to-bottom run executes them: at the top level of a
    cell (lambdas included), or in a function that the notebook calls (directly or through
    other functions, or passes on: `map(ask, names)`). A function that nothing in the
    notebook refers to never runs, and its calls are not reported (an nbdev command
    exported from the notebook, for instance).

    ## Why is this bad?
    Papermill, `nbprod run`, pipelines and CI have nobody at the keyboard: the run hangs
    until it times out, or fails with `StdinNotImplementedError`.

    ## Example
    ```python
    country = input("Country? ")
    ```

    ## Use instead
    A parameter (tagged `parameters` cell), or an environment variable for secrets:
    ```python
    country: str = "FR"
    ```
    """

    code = "NB305"
    name = "interactive-input"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            for call, name in cell_calls(ctx, cell, result):
                if name in ("input", "getpass.getpass") and id(call) not in unreached_calls(ctx):
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"`{name}()` waits for keyboard input, which unattended runs do not have;"
                        " use a parameter or an environment variable",
                        **span(result, call).kwargs(),
                    )


RULES = (
    MagicInExportCell,
    ExportCellSideEffect,
    FunctionReadsNotebookGlobal,
    ExportUsesNotebookGlobal,
    InteractiveInput,
)
