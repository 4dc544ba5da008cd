"""NB1xx: the `parameters` cell that papermill and `nbprod run` inject values after."""

from __future__ import annotations

import ast

from ...analysis import CellAnalysis
from ...notebook import Cell
from ..rule import Applicability, LintContext, Rule, Severity
from ._helpers import nodes_of, span

__all__ = ["RULES"]

TAG = "parameters"
_ANNOTATIONS = {bool: "bool", int: "int", float: "float", str: "str", list: "list",
                dict: "dict", tuple: "tuple"}


def _parameter_cells(ctx: LintContext) -> list[tuple[Cell, CellAnalysis | None]]:
    """The parameter cells with their analysis (None when not Python); once per notebook,
    as most NB1xx rules start from them."""

    def build() -> list[tuple[Cell, CellAnalysis | None]]:
        found = []
        for cell in ctx.nb.tagged(TAG):
            if cell.cell_type != "code":
                continue
            result = next((r for c, r in ctx.python_cells if c.index == cell.index), None)
            found.append((cell, result))
        return found

    return ctx.memo("parameter_cells", build)


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _assignments(tree: ast.Module):
    """(name, statement) for each single-name assignment at the top of the cell."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], ast.Name
        ):
            yield stmt.targets[0].id, stmt
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            yield stmt.target.id, stmt


def _plain_literal_assignment(stmt: ast.stmt) -> bool:
    """A chained (``a = b = 1``) or tuple (``x, y = 1, 2``) assignment of literals to names."""
    if not isinstance(stmt, ast.Assign) or not _is_literal(stmt.value):
        return False
    for target in stmt.targets:
        if isinstance(target, ast.Name):
            continue
        if not isinstance(target, (ast.Tuple, ast.List)) or not all(
            isinstance(item, ast.Name) for item in target.elts
        ):
            return False
        if not isinstance(stmt.value, (ast.Tuple, ast.List)) or len(stmt.value.elts) != len(
            target.elts
        ):
            return False
    return True


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _literal_assignment_cell(result: CellAnalysis) -> bool:
    """True for a cell of only ``name = <literal>`` lines: a parameters cell but for the tag."""
    body = [s for s in result.tree.body if not _is_docstring(s)]
    if not body or result.magics:
        return False
    names = dict((id(s), n) for n, s in _assignments(result.tree))
    return all(id(s) in names and s.value is not None and _is_literal(s.value) for s in body)


class MissingParametersCell(Rule):
    """## What it does
    When `require-parameters = true` in `[tool.nbprod.lint]`, checks that one code cell is
    tagged `parameters`.

    ## Why is this bad?
    Without the tag, `nbprod run -p` and papermill cannot override any value: every run of
    the notebook is the same run, and sweeps are impossible.

    ## Example
    ```python
    learning_rate = 0.1
    epochs = 10
    ```

    ## Use instead
    The same cell, tagged `parameters` (cell tags are in JupyterLab's property inspector).

    ## Fix safety
    The fix tags the first code cell made only of literal assignments; tagging changes no
    code, so it is safe. Without such a cell there is no fix.
    """

    code = "NB101"
    name = "missing-parameters-cell"

    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        if not ctx.config.require_parameters or not ctx.nb.code_cells or _parameter_cells(ctx):
            return
        candidate = next(
            (cell for cell, result in ctx.python_cells if _literal_assignment_cell(result)), None
        )
        if candidate is None:
            yield self.diagnostic(
                ctx, None, "No cell is tagged `parameters`; put the notebook's inputs in one"
                " cell and tag it",
            )
        else:
            yield self.diagnostic(
                ctx,
                candidate,
                f"No cell is tagged `parameters`; {candidate.label} holds only literal"
                " assignments: tag it `parameters`",
                fix_title="Tag this cell `parameters`",
            )

    def fix(self, ctx, diagnostic):
        if diagnostic.cell is None:
            return
        cell = ctx.nb.cells[diagnostic.cell - 1]
        if cell.id == diagnostic.cell_id and TAG not in cell.tags:
            cell.set_tags([*cell.tags, TAG])


class MultipleParametersCells(Rule):
    """## What it does
    Checks that at most one cell is tagged `parameters`.

    ## Why is this bad?
    Papermill injects the new values after the first tagged cell only. Values in the
    second cell are never overridden, and a later assignment there silently undoes the
    injected value.

    ## Example
    Two cells tagged `parameters`: `lr = 0.1` and, further down, `epochs = 5`.

    ## Use instead
    One `parameters` cell holding every parameter.
    """

    code = "NB102"
    name = "multiple-parameters-cells"
    severity = Severity.ERROR

    def check(self, ctx):
        cells = _parameter_cells(ctx)
        for cell, _result in cells[1:]:
            yield self.diagnostic(
                ctx,
                cell,
                f"Second `parameters` cell (the first is {cells[0][0].label}); papermill"
                " overrides only the first: merge them",
            )


class ParameterUsedBeforeCell(Rule):
    """## What it does
    Checks for parameters read in a cell above the `parameters` cell.

    ## Why is this bad?
    Injected values land after the `parameters` cell. A cell above it either fails with
    `NameError` or runs with a value from an earlier session, never with the run's value.

    ## Example
    ```python
    # cell 1
    print(f"training for {epochs} epochs")

    # cell 2 (tagged parameters)
    epochs = 10
    ```

    ## Use instead
    Move the `parameters` cell above every use of its names.
    """

    code = "NB103"
    name = "parameter-used-before-cell"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        cells = _parameter_cells(ctx)
        if not cells or cells[0][1] is None:
            return
        params_cell, params = cells[0]
        names = {name for name, _stmt in _assignments(params.tree)}
        for cell, result in ctx.python_cells:
            if cell.index >= params_cell.index:
                break
            for node in nodes_of(ctx, result, ast.Name):
                if node.id in names and node.id in result.uses:
                    if node.lineno == result.uses[node.id] and isinstance(node.ctx, ast.Load):
                        yield self.diagnostic(
                            ctx,
                            cell,
                            f"Parameter `{node.id}` is used above the `parameters` cell"
                            f" ({params_cell.label}); injected values arrive after it",
                            **span(result, node).kwargs(),
                        )
                        names.discard(node.id)


class NonLiteralParameter(Rule):
    """## What it does
    Checks that every value in the `parameters` cell is a literal (number, string, boolean,
    `None`, or a list/tuple/dict of them).

    ## Why is this bad?
    Parameters are passed on the command line, stored in run receipts and compared across
    runs. A computed default (`path = Path.home() / "data"`) has no type nbprod can check,
    cannot be shown in the run form, and differs from machine to machine.

    ## Example
    ```python
    start = datetime.date.today()
    ```

    ## Use instead
    ```python
    start: str = "2024-01-01"  # parse it in the next cell
    ```
    """

    code = "NB104"
    name = "non-literal-parameter"

    def check(self, ctx):
        for cell, result in _parameter_cells(ctx):
            if result is None:
                continue
            for name, stmt in _assignments(result.tree):
                if stmt.value is not None and not _is_literal(stmt.value):
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"Parameter `{name}` is not a literal value; use a number, string,"
                        " boolean, None, or a list/dict of them",
                        **span(result, stmt.value).kwargs(),
                    )


class UntypedParameter(Rule):
    """## What it does
    Checks that each parameter carries a type annotation: `lr: float = 0.1`.

    ## Why is this bad?
    nbprod builds the run's parameter schema from the annotations: with them,
    `nbprod run -p lr abc` is refused with a clear message instead of failing deep inside
    the notebook, and `-p epochs 5` arrives as an `int`, not a string.

    ## Example
    ```python
    lr = 0.1
    ```

    ## Use instead
    ```python
    lr: float = 0.1  # learning rate
    ```

    ## Fix safety
    The fix adds the annotation of the literal's type (`bool`, `int`, `float`, `str`,
    `list`, `dict`, `tuple`). Annotations do not change what the cell does: it is safe.
    Values of other types (`None`) get no fix.
    """

    code = "NB105"
    name = "untyped-parameter"
    severity = Severity.INFO
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        for cell, result in _parameter_cells(ctx):
            if result is None:
                continue
            for name, stmt in _assignments(result.tree):
                if not isinstance(stmt, ast.Assign):
                    continue
                target = span(result, stmt.targets[0])
                annotation = None
                if _is_literal(stmt.value):
                    annotation = _ANNOTATIONS.get(type(ast.literal_eval(stmt.value)))
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"Parameter `{name}` has no type annotation; write `{name}:"
                    f" {annotation or '<type>'} = ...`",
                    **target.kwargs(),
                    fix_title=f"Annotate `{name}` as `{annotation}`" if annotation else None,
                    data={"name": name, "annotation": annotation},
                )

    def fix(self, ctx, diagnostic):
        cell = ctx.nb.cells[diagnostic.cell - 1]
        lines = cell.source.split("\n")
        line = diagnostic.line - 1
        name, annotation = diagnostic.data["name"], diagnostic.data["annotation"]
        start = diagnostic.column - 1
        end = start + len(name)
        if not (0 <= line < len(lines)) or lines[line][start:end] != name or not annotation:
            return
        lines[line] = f"{lines[line][:end]}: {annotation}{lines[line][end:]}"
        cell.source = "\n".join(lines)


_SETUP_NODES = (ast.Import, ast.ImportFrom, ast.Pass)


class ParametersCellNotFirst(Rule):
    """## What it does
    Checks that the `parameters` cell is the first code cell, apart from cells that only
    import modules, run magics such as `%matplotlib inline`, or hold comments.

    ## Why is this bad?
    Code above the parameters cell always runs with the defaults, before papermill injects
    the run's values: work done there ignores the parameters, and readers look for a
    notebook's inputs at the top.

    ## Example
    ```python
    # cell 1
    df = pd.read_csv("data.csv")

    # cell 2 (tagged parameters)
    sample = 0.1
    ```

    ## Use instead
    Put the `parameters` cell first (after imports), then the code that uses it.
    """

    code = "NB106"
    name = "parameters-cell-not-first"
    severity = Severity.INFO

    def check(self, ctx):
        cells = _parameter_cells(ctx)
        if not cells:
            return
        params_cell = cells[0][0]
        for cell, result in ctx.python_cells:
            if cell.index >= params_cell.index:
                return
            body = [s for s in result.tree.body if not _is_docstring(s)]
            if all(isinstance(s, _SETUP_NODES) for s in body):
                continue
            yield self.diagnostic(
                ctx,
                params_cell,
                f"The `parameters` cell comes after code in {cell.label}, which always runs"
                " with the defaults; move it up",
            )
            return


class ParametersCellHasCode(Rule):
    """## What it does
    Checks that the `parameters` cell only assigns values: no calls, loops, imports or
    other statements. Chained (`a = b = 1`) and tuple (`x, y = 1, 2`) assignments of
    literals to names are assignments too.

    ## Why is this bad?
    Papermill injects the run's values in a new cell right after the `parameters` cell.
    Anything computed inside the parameters cell is computed from the defaults and is not
    updated by the injection: `n_rows = 100; sample = df.head(n_rows)` samples 100 rows
    whatever `-p n_rows` says.

    ## Example
    ```python
    n_rows = 100
    sample = df.head(n_rows)
    ```

    ## Use instead
    ```python
    # parameters
    n_rows: int = 100

    # next cell
    sample = df.head(n_rows)
    ```
    """

    code = "NB107"
    name = "parameters-cell-has-code"

    def check(self, ctx):
        for cell, result in _parameter_cells(ctx):
            if result is None:
                continue
            assigned = {id(stmt) for _name, stmt in _assignments(result.tree)}
            for stmt in result.tree.body:
                if (id(stmt) in assigned or _is_docstring(stmt) or isinstance(stmt, ast.Pass)
                        or _plain_literal_assignment(stmt)):
                    continue
                yield self.diagnostic(
                    ctx,
                    cell,
                    "The `parameters` cell runs code; injected values arrive after it, so"
                    " move this statement to the next cell",
                    **span(result, stmt).kwargs(),
                )


RULES = (
    MissingParametersCell,
    MultipleParametersCells,
    ParameterUsedBeforeCell,
    NonLiteralParameter,
    UntypedParameter,
    ParametersCellNotFirst,
    ParametersCellHasCode,
)
