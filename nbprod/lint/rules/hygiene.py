"""NB0xx: execution order, hidden state, and the notebook's housekeeping."""

from __future__ import annotations

import ast
import itertools
import json
import re

from ...analysis import ALWAYS_DEFINED, CellAnalysis
from ..rule import Applicability, Rule, Severity
from ._helpers import Span, span, star_import_names

__all__ = ["RULES"]


def _name_span(result: CellAnalysis, name: str, line: int) -> Span:
    """The first occurrence of ``name`` on ``line`` (the whole line when it is not a Name)."""
    if result.tree is not None:
        hits = [
            n
            for n in ast.walk(result.tree)
            if isinstance(n, ast.Name) and n.id == name and n.lineno == line
        ]
        if hits:
            return span(result, min(hits, key=lambda n: n.col_offset))
    return Span(line, 1, line, 1)


def _import_bound(result: CellAnalysis) -> set[str]:
    """Names a cell binds by importing."""
    bound: set[str] = set()
    for node in ast.walk(result.tree) if result.tree is not None else ():
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add(alias.asname or alias.name.split(".")[0])
    return bound


def _may_bind(module: str, name: str) -> bool:
    """Whether ``from module import *`` may bind ``name`` (any name, when what it binds
    cannot be known)."""
    names = star_import_names(module)
    return names is None or name in names


class ExecutionOutOfOrder(Rule):
    """## What it does
    Checks that the code cells were executed top to bottom: each stored execution count is
    higher than the one of the code cell above it. The notebook gets one finding, on the
    first cell run out of order, that lists every such cell, and says how many executions
    the saved notebook does not show (counts that skip numbers: cells run, then deleted
    or rerun).

    Only a notebook whose counts can tell an order is judged: one with at least two
    different counts above 0. Notebooks saved by Colab and by some exporters carry the same
    count (often 0) on every cell; they have no order to judge. A count that repeats (the
    kernel restarted between runs, or an exporter's) does not stop the judging: a count
    equal to the highest one above it is not taken as out of order, and the finding then
    does not say how many executions are missing (it cannot be known).

    ## Why is this bad?
    Outputs saved from an out-of-order session may depend on state that a top-to-bottom
    rerun (papermill, CI, a colleague) never builds. The notebook "works" only on your machine.
    The rules that find what such a rerun breaks (NB004, NB005) name the cell.

    ## Example
    ```python
    # In[2]:
    df = load()

    # In[1]:
    import pandas as pd
    ```

    ## Use instead
    Restart the kernel and run all cells, then save:
    ```python
    # In[1]:
    import pandas as pd

    # In[2]:
    df = load()
    ```
    """

    code = "NB001"
    name = "execution-out-of-order"

    def check(self, ctx):
        executed = [
            (cell, cell.execution_count) for cell in ctx.nb.code_cells
            if isinstance(cell.execution_count, int) and cell.execution_count > 0
        ]
        counts = [count for _cell, count in executed]
        if len(set(counts)) < 2:
            return  # never executed, or one count on every cell: no order to judge
        late: list[tuple[object, int, int]] = []
        highest = 0
        for cell, count in executed:
            if count < highest:
                late.append((cell, count, highest))
            highest = max(highest, count)
        if not late:
            return
        shown = ", ".join(
            f"cell {cell.index} ([{count}] after [{before}])" for cell, count, before in late[:5]
        ) + (f" and {len(late) - 5} more" if len(late) > 5 else "")
        # With a count repeated (the kernel restarted between runs), what is missing is unknown.
        unseen = max(counts) - len(counts) if len(set(counts)) == len(counts) else 0
        hidden = (
            f"; {unseen} execution{'s' if unseen != 1 else ''} not in the saved notebook"
            if unseen > 0 else ""
        )
        plural = "s" if len(late) != 1 else ""
        yield self.diagnostic(
            ctx,
            late[0][0],
            f"{len(late)} cell{plural} executed out of order: {shown}{hidden}; restart the"
            " kernel and run all cells",
        )


class ExecutionCountSkipped(Rule):
    """## What it does
    Checks that execution counts go up by one from one executed code cell to the next.

    Off by default: NB001 reports the executions missing from an out-of-order notebook,
    and a gap alone does not stop a rerun. Select it (`--select NB002`) to get every gap.

    ## Why is this bad?
    A gap (`[3]` followed by `[7]`) means cells were run that the saved notebook does not
    show: cells executed and then deleted, edited, or run several times. The saved outputs
    may depend on that invisible work.

    ## Example
    ```python
    # In[1]:
    data = load()

    # In[5]:
    model.fit(data)
    ```

    ## Use instead
    Restart the kernel and run all cells, so the counts read 1, 2, 3...
    """

    code = "NB002"
    name = "execution-count-skipped"
    default = False

    def check(self, ctx):
        previous = 0
        for cell in ctx.nb.code_cells:
            count = cell.execution_count
            if not isinstance(count, int):
                continue
            if count > previous + 1:
                missing = count - previous - 1
                plural = "s" if missing != 1 else ""
                jump = (f"Execution count jumps from {previous} to {count}" if previous
                        else f"First execution count is {count}")
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"{jump}: {missing} execution{plural} not in the saved notebook; restart"
                    " the kernel and run all cells",
                )
            previous = max(previous, count)


class UnexecutedCell(Rule):
    """## What it does
    Checks for code cells that were never executed although cells above and below them were.

    ## Why is this bad?
    The saved outputs below such a cell were produced without it. Either the cell is dead
    code, or a rerun will execute it for the first time and change the results.

    ## Example
    ```python
    # In[1]:
    df = load()

    # In[ ]:
    df = df.dropna()

    # In[2]:
    df.describe()
    ```

    ## Use instead
    Run all cells, or delete the cell if it is not needed.
    """

    code = "NB003"
    name = "unexecuted-cell"

    def check(self, ctx):
        cells = ctx.nb.code_cells
        executed = [i for i, c in enumerate(cells) if isinstance(c.execution_count, int)]
        if not executed:
            return
        for cell in cells[executed[0] : executed[-1]]:
            if cell.execution_count is None and cell.source.strip():
                yield self.diagnostic(
                    ctx, cell, "Cell was never executed but cells around it were; run all cells"
                )


class UsedBeforeDefined(Rule):
    """## What it does
    Checks for names read in a cell above the first cell that defines them (top-to-bottom
    order, the order "Run All" and papermill use). A name read after a star import
    (`from math import *` in an earlier cell, or above the read in the same cell) that the
    import may bind is not reported: one of the module's names when nbprod can list them
    without running the module (the standard library, a module with a literal `__all__`),
    any name otherwise.

    ## Why is this bad?
    It works in the session where the lower cell was run first, and raises `NameError` on a
    fresh top-to-bottom run: the commonest reason a notebook fails when rerun.

    ## Example
    ```python
    # cell 1
    print(threshold)

    # cell 2
    threshold = 0.5
    ```

    ## Use instead
    Move the definition above its first use:
    ```python
    # cell 1
    threshold = 0.5

    # cell 2
    print(threshold)
    ```
    """

    code = "NB004"
    name = "used-before-defined"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        cells = {c.index: c for c in ctx.nb.cells}
        stars = [
            (cell.index, line, module)
            for cell, result in ctx.code_cells
            for module, line in result.star_imports
        ]
        for index, name, line, definer in ctx.analysis.used_before_defined():
            if any(
                (cell < index or (cell == index and star <= line))
                and _may_bind(module, name)
                for cell, star, module in stars
            ):
                continue  # `from m import *` above the use may define the name
            result = ctx.analysis.of(index)
            where = _name_span(result, name, line)
            below = "further down this cell" if definer == index else f"in {cells[definer].label}"
            yield self.diagnostic(
                ctx,
                cells[index],
                f"`{name}` is used here but first defined below, {below}; a top-to-bottom run"
                " raises NameError",
                **where.kwargs(),
            )


class DefinedByDeletedCell(Rule):
    """## What it does
    Checks for names that no cell defines, in a notebook whose execution counts show that
    cells were run and then deleted or rewritten before this one.

    ## Why is this bad?
    The value lives only in the kernel that ran the deleted cell. The saved outputs depend
    on it, and nobody can rerun the notebook: the code that made the value is gone.

    ## Example
    ```python
    # In[1]:
    import pandas as pd

    # In[4]:   (counts 2 and 3 ran cells that no longer exist)
    clean.describe()
    ```

    ## Use instead
    Restore the cell that defines the name (look in the kernel's history with `%history`),
    then restart and run all cells.
    """

    code = "NB005"
    name = "defined-by-deleted-cell"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        counts = {c.execution_count for c in ctx.nb.code_cells}
        cells = {c.index: c for c in ctx.nb.cells}
        for index, name, line in ctx.analysis.undefined():
            cell = cells[index]
            count = cell.execution_count
            if not isinstance(count, int):
                continue
            present = sum(1 for n in counts if isinstance(n, int) and 0 < n < count)
            if count - 1 - present <= 0:
                continue
            # Lazily: a saved count can be huge, and only the first few missing ones are shown.
            missing = list(itertools.islice((n for n in range(1, count) if n not in counts), 6))
            shown = ", ".join(str(n) for n in missing[:5]) + (", ..." if len(missing) > 5 else "")
            where = _name_span(ctx.analysis.of(index), name, line)
            yield self.diagnostic(
                ctx,
                cell,
                f"`{name}` is defined by no cell; it came from a cell that no longer exists"
                f" (execution counts {shown} are missing)",
                **where.kwargs(),
            )


class GlobalRedefinedAfterFunction(Rule):
    """## What it does
    Checks for a cell that redefines a global name which a function defined in an earlier
    cell reads.

    ## Why is this bad?
    The function reads the global when it is called, not when it is defined. Its result
    then depends on which cells ran before the call: rerunning the function's cell after
    the redefinition silently changes every result that uses it.

    ## Example
    ```python
    # cell 1
    rate = 0.1
    def decay(x):
        return x * rate

    # cell 5
    rate = 0.5   # decay() now uses 0.5 everywhere it is called later
    ```

    ## Use instead
    Pass the value as a parameter, or give the second value its own name:
    ```python
    def decay(x, rate):
        return x * rate
    ```
    """

    code = "NB006"
    name = "global-redefined-after-function"

    def check(self, ctx):
        seen: set[tuple[int, str]] = set()
        cells = ctx.python_cells
        for position, (cell, result) in enumerate(cells):
            for function, reads in sorted(result.functions.items()):
                for name in sorted(reads - ALWAYS_DEFINED):
                    if not any(name in r.defines for _c, r in cells[: position + 1]):
                        continue
                    for later, later_result in cells[position + 1 :]:
                        line = later_result.defines.get(name)
                        if line is None or (later.index, name) in seen:
                            continue
                        if name in _import_bound(later_result):
                            continue
                        seen.add((later.index, name))
                        where = _name_span(later_result, name, line)
                        yield self.diagnostic(
                            ctx,
                            later,
                            f"`{name}` is redefined here, but `{function}` ({cell.label})"
                            f" reads the global `{name}`: calls after this cell see the new"
                            " value",
                            **where.kwargs(),
                        )


class ErrorOutput(Rule):
    """## What it does
    Checks for error outputs (tracebacks) saved in the notebook.

    ## Why is this bad?
    A saved traceback means the notebook did not run cleanly when it was saved. Readers
    cannot tell whether the error is expected, and tools that execute the notebook stop there.

    ## Example
    ```python
    # In[3]:
    1 / 0
    # ZeroDivisionError: division by zero
    ```

    ## Use instead
    Fix the cell and rerun it, or clear the stale error output. When the error is the point
    of the cell, tag it `raises-exception`.

    ## Fix safety
    The fix removes the error outputs and nothing else; it is safe.
    """

    code = "NB007"
    name = "error-output"
    rerun_blocker = True
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        for cell in ctx.nb.code_cells:
            if "raises-exception" in cell.tags:
                continue
            for number, output in enumerate(cell.outputs, start=1):
                if output.get("output_type") == "error":
                    ename = str(output.get("ename", "error"))[:60]
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"Error output saved ({ename}); fix the cell and rerun it, or clear"
                        " the output",
                        output=number,
                        fix_title="Remove the error output",
                    )

    def fix(self, ctx, diagnostic):
        cell = ctx.nb.cells[diagnostic.cell - 1]
        outputs = cell.node.get("outputs", [])
        position = (diagnostic.output or 0) - 1
        if 0 <= position < len(outputs) and outputs[position].get("output_type") == "error":
            del outputs[position]


class EmptyCell(Rule):
    """## What it does
    Checks for cells whose source is empty or only whitespace, and that have no tags. An
    empty cell with a tag means something: an empty `parameters` cell is where papermill
    injects the run's values, and nbprod's own tags (`export`, `step:<name>`...) mark it.

    Off by default: an empty cell changes no result, and most notebooks end with one.
    `nbprod lint --select NB008 --fix` deletes them all.

    ## Why is this bad?
    Empty cells are noise in review, in exported modules and in diffs.

    ## Example
    ```python
    # In[4]:

    ```

    ## Use instead
    Delete the cell.

    ## Fix safety
    The fix deletes the empty cell; an empty cell without tags does nothing, so it is safe.
    """

    code = "NB008"
    name = "empty-cell"
    severity = Severity.INFO
    default = False
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        for cell in ctx.nb.cells:
            if not cell.source.strip() and not cell.outputs and not cell.tags:
                yield self.diagnostic(ctx, cell, "Empty cell", fix_title="Delete the empty cell")

    def fix(self, ctx, diagnostic):
        cells = ctx.nb.node["cells"]
        position = (diagnostic.cell or 0) - 1
        if 0 <= position < len(cells):
            cell = cells[position]
            if (cell.get("id") == diagnostic.cell_id and not str(cell.get("source", "")).strip()
                    and not cell.get("metadata", {}).get("tags")):
                del cells[position]


def _size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


_UNBOUNDED = 1 << 62


def _size_bound(value: object) -> int:
    """An upper bound of ``_size(value)``, much cheaper on large outputs: a character takes
    at most 6 bytes in JSON (a ``\\uXXXX`` escape), separators 2."""
    if isinstance(value, str):
        return 6 * len(value) + 2
    if isinstance(value, dict):
        return 2 + sum(_size_bound(k) + _size_bound(v) + 4 for k, v in value.items())
    if isinstance(value, list):
        try:  # the usual case, a list of lines: one call in C
            return 2 + 6 * len("".join(value)) + 4 * len(value)
        except TypeError:
            return 2 + sum(_size_bound(item) + 2 for item in value)
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return len(str(value))
    if isinstance(value, float):
        return 24  # the longest repr of a float: -1.2345678901234567e-308
    return _UNBOUNDED


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size} B"


class LargeOutput(Rule):
    """## What it does
    Checks for single outputs larger than `max-output-bytes` (default 1 MB) in
    `[tool.nbprod.lint]`.

    ## Why is this bad?
    Huge outputs (a printed DataFrame of a million rows, an embedded video) bloat the
    repository and every diff, slow JupyterLab down, and may contain data that should not
    be committed.

    ## Example
    ```python
    df  # displays the whole 200 MB frame
    ```

    ## Use instead
    ```python
    df.head()
    ```
    """

    code = "NB009"
    name = "large-output"

    def check(self, ctx):
        limit = ctx.config.max_output_bytes
        for cell in ctx.nb.code_cells:
            for number, output in enumerate(cell.outputs, start=1):
                if _size_bound(output) <= limit:
                    continue  # surely small enough: no need to serialise it
                size = _size(output)
                if size > limit:
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"Output is {_human(size)}, over the {_human(limit)} limit; show less"
                        " or clear it",
                        output=number,
                    )


class LargeCell(Rule):
    """## What it does
    Checks for cells longer than `max-cell-lines` (default 200) lines.

    ## Why is this bad?
    A very long cell is a script pasted into a notebook: it cannot be rerun in parts,
    its outputs explain little, and it belongs in a module that the notebook imports.

    ## Example
    ```python
    # 400 lines of data cleaning in one cell
    ```

    ## Use instead
    Split the cell, or move the code into functions in a module (tag the cell `export`).
    """

    code = "NB010"
    name = "large-cell"
    severity = Severity.INFO

    def check(self, ctx):
        limit = ctx.config.max_cell_lines
        for cell in ctx.nb.cells:
            lines = len(cell.source.splitlines())
            if lines > limit:
                yield self.diagnostic(
                    ctx, cell, f"Cell has {lines} lines, over the {limit}-line limit; split it"
                )


class LargeNotebook(Rule):
    """## What it does
    Checks for notebooks with more than `max-cells` (default 200) cells.

    ## Why is this bad?
    A notebook that long has become an application. It is slow to open, hard to review,
    and cannot be rerun in parts.

    ## Example
    A 450-cell notebook that loads, cleans, trains and reports.

    ## Use instead
    Split it into notebooks with one job each, or into pipeline steps (`step:<name>` tags).
    """

    code = "NB011"
    name = "large-notebook"
    severity = Severity.INFO

    def check(self, ctx):
        count = len(ctx.nb.cells)
        if count > ctx.config.max_cells:
            yield self.diagnostic(
                ctx,
                None,
                f"Notebook has {count} cells, over the {ctx.config.max_cells}-cell limit;"
                " split it",
            )


_DIRECTIVE_ONLY = re.compile(r"^(\s*(#.*)?)$")


class MissingTitle(Rule):
    """## What it does
    Checks that a markdown heading (the notebook's title) comes before the first code cell.
    Code cells that hold only comments or nbdev directives (`#| default_exp`) may come
    before it.

    Off by default: a title helps readers, but its absence changes no result. Select it
    (`--select NB012`) where notebooks are published.

    ## Why is this bad?
    The title is what readers, JupyterLab's table of contents and generated documentation
    show first. Without it a notebook is known only by its file name.

    ## Example
    ```python
    import pandas as pd
    ```

    ## Use instead
    ```markdown
    # Churn model: training
    ```
    """

    code = "NB012"
    name = "missing-title"
    severity = Severity.INFO
    default = False

    def check(self, ctx):
        first = None
        for cell in ctx.nb.cells:
            if not cell.source.strip():
                continue
            first = first or cell
            if cell.cell_type == "markdown":
                if any(_is_heading(line) for line in cell.source.splitlines()):
                    return
                continue
            if cell.cell_type == "code" and all(
                _DIRECTIVE_ONLY.match(line) for line in cell.source.splitlines()
            ):
                continue
            break
        if first is not None:
            yield self.diagnostic(
                ctx, first, "Notebook has no markdown title before its first code; add a"
                " `# Title` cell",
            )


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    return bool(re.match(r"#{1,6}\s", stripped)) or stripped.lower().startswith("<h1")


_UNTITLED_RE = re.compile(
    r"^(untitled\d*|.*-copy\d*|.*\scopy(\s*\d+)?|copy of .*|.*\(\d+\))$", re.IGNORECASE
)


class UntitledNotebook(Rule):
    """## What it does
    Checks for default or copied notebook names: `Untitled.ipynb`, `Untitled3.ipynb`,
    `train-Copy1.ipynb`, `Copy of train.ipynb`, `train (2).ipynb`.

    ## Why is this bad?
    These names say nothing about the notebook, and copies drift apart from the original:
    nobody knows which one is current.

    ## Example
    `Untitled1.ipynb`, `analysis-Copy2.ipynb`

    ## Use instead
    A name that says what the notebook does: `train_churn_model.ipynb`.
    """

    code = "NB013"
    name = "untitled-notebook"
    severity = Severity.INFO

    def check(self, ctx):
        if ctx.nb.path is None:
            return
        stem = ctx.nb.path.stem
        if _UNTITLED_RE.match(stem):
            yield self.diagnostic(
                ctx, None, f"Notebook name {ctx.nb.path.name!r} is a default or a copy; rename it"
            )


_PYTHON2_ERRORS = re.compile(
    r"Missing parentheses in call to '(print|exec)'"
    r"|multiple exception types must be parenthesized"
    r"|leading zeros in decimal integer literals"
)


def _python2_metadata(nb) -> bool:
    """Whether the notebook's metadata names a Python 2 kernel."""
    meta = nb.node.get("metadata", {})
    kernel = str(meta.get("kernelspec", {}).get("name", ""))
    version = str(meta.get("language_info", {}).get("version", ""))
    mode = meta.get("language_info", {}).get("codemirror_mode", {})
    mode_version = str(mode.get("version", "")) if isinstance(mode, dict) else ""
    return kernel == "python2" or version.startswith("2.") or mode_version == "2"


class Python2Notebook(Rule):
    """## What it does
    Checks for notebooks written for Python 2: cells that are not Python 3 syntax in the
    ways only Python 2 code is (`print x`, `exec "code"`, `except E, e:`, `0777`). The
    notebook gets one finding, on the first cell that is not Python 3, listing them all,
    instead of one syntax error per cell (ruff's E999 is not reported for it).

    ## Why is this bad?
    A Python 3 kernel stops at the first of these cells with `SyntaxError`; nothing below
    it runs.

    ## Example
    ```python
    print "mean:", data.mean()
    ```

    ## Use instead
    Port the notebook to Python 3 (`2to3` does most of it), then rerun it:
    ```python
    print("mean:", data.mean())
    ```
    """

    code = "NB014"
    name = "python-2-notebook"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        broken = [
            (cell, result.syntax_error) for cell, result in ctx.code_cells
            if result.syntax_error is not None and not result.opaque
        ]
        if not broken:
            return
        if not any(_PYTHON2_ERRORS.search(message) for _cell, (_line, message) in broken):
            return  # syntax errors of any Python: ruff's E999 reports them
        first, (line, _message) = broken[0]
        kernel = " (its kernel is Python 2)" if _python2_metadata(ctx.nb) else ""
        numbers = ", ".join(str(cell.index) for cell, _e in broken[:8])
        more = ", ..." if len(broken) > 8 else ""
        cells = f"cells {numbers}{more} are" if len(broken) > 1 else f"cell {numbers} is"
        yield self.diagnostic(
            ctx,
            first,
            f"Python 2 notebook{kernel}: {cells} not Python 3 syntax; a Python 3 kernel"
            " stops here. Port it to Python 3 (`2to3` does most of it)",
            line=line,
        )


RULES = (
    ExecutionOutOfOrder,
    ExecutionCountSkipped,
    UnexecutedCell,
    UsedBeforeDefined,
    DefinedByDeletedCell,
    GlobalRedefinedAfterFunction,
    ErrorOutput,
    EmptyCell,
    LargeOutput,
    LargeCell,
    LargeNotebook,
    MissingTitle,
    UntitledNotebook,
    Python2Notebook,
)
