"""Shared building blocks of the rule families: positions, import aliases, call names, ast-grep.

Rules read cells through the def-use analysis, whose ``masked_source`` has IPython lines
replaced by Python of the same line count, so every position found here is the cell's own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ...analysis import _LEAVES, CellAnalysis, dotted
from ...analysis import _child_nodes as child_nodes
from ...analysis import import_aliases as _import_aliases
from ...notebook import Cell
from ..rule import LintContext

__all__ = [
    "Span",
    "call_name",
    "cell_calls",
    "child_nodes",
    "dotted",
    "import_aliases",
    "keyword",
    "mentions",
    "nodes_of",
    "qualified",
    "sg_root",
    "span",
    "string_constants",
    "tree_nodes",
    "walk_calls",
]

# What the community's conventional aliases stand for, used when a notebook reads an alias
# that no cell imports (the import lives in a deleted cell, or in a %run script).
CONVENTIONAL_ALIASES = {
    "np": "numpy",
    "pd": "pandas",
    "plt": "matplotlib.pyplot",
    "mpl": "matplotlib",
    "sns": "seaborn",
    "tf": "tensorflow",
    "torch": "torch",
    "random": "random",
    "os": "os",
}


@dataclass(frozen=True)
class Span:
    """1-based line and column (in characters) of a node within its cell, and where it ends."""

    line: int
    column: int
    end_line: int
    end_column: int

    def kwargs(self) -> dict[str, int]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


def _char_column(lines: list[str], line: int, byte_offset: int) -> int:
    # ast reports UTF-8 byte offsets; diagnostics count characters, as editors do.
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore")) + 1


def span(result: CellAnalysis, node: ast.AST) -> Span:
    """Where ``node`` sits in the cell (ast positions converted to 1-based characters)."""
    lines = result.masked_source.split("\n")
    line = getattr(node, "lineno", 1)
    end_line = getattr(node, "end_lineno", None) or line
    column = _char_column(lines, line, getattr(node, "col_offset", 0))
    end_offset = getattr(node, "end_col_offset", None)
    end_column = _char_column(lines, end_line, end_offset) if end_offset is not None else column
    return Span(line, column, end_line, end_column)


def import_aliases(ctx: LintContext) -> dict[str, str]:
    """Local name -> qualified name for every import in the notebook (plus the usual aliases)."""

    def build() -> dict[str, str]:
        nodes = (
            node
            for _cell, result in ctx.python_cells
            for node in nodes_of(ctx, result, ast.Import, ast.ImportFrom)
        )
        return {**CONVENTIONAL_ALIASES, **_import_aliases(nodes)}

    return ctx.memo("import_aliases", build)


def mentions(ctx: LintContext, *words: str) -> bool:
    """Whether any Python cell's source contains one of ``words``: a cheap test that lets
    a rule skip a notebook where what it looks for cannot be written (an attribute, a
    function or the import that would alias it must appear in the text)."""
    return any(
        word in result.masked_source for _cell, result in ctx.python_cells for word in words
    )


def qualified(ctx: LintContext, node: ast.AST) -> str | None:
    """The qualified name an expression refers to: ``np.random.seed`` -> ``numpy.random.seed``.

    Answered once per node and notebook, as several rules ask about the same attributes
    and calls; the nodes asked about are kept, so that their ids stay theirs meanwhile.
    """
    known, kept = ctx.memo("qualified", lambda: ({}, []))
    try:
        return known[id(node)]
    except KeyError:
        pass
    name = dotted(node)
    if name is not None:
        head, _, rest = name.partition(".")
        target = import_aliases(ctx).get(head)
        if target is not None:
            name = f"{target}.{rest}" if rest else target
    known[id(node)] = name
    kept.append(node)
    return name


def call_name(ctx: LintContext, call: ast.Call) -> str | None:
    """The qualified name of the called function, when it is a (dotted) name."""
    return qualified(ctx, call.func)


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == name), None)


def walk_calls(tree: ast.AST) -> Iterator[ast.Call]:
    """Every call in ``tree``, in source order."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    return iter(calls)


def cell_calls(
    ctx: LintContext, cell: Cell, result: CellAnalysis
) -> Iterator[tuple[ast.Call, str]]:
    """The calls of a cell in source order with their qualified names ("" when not a name);
    computed once per notebook, as most rules look at calls. Kept as two lists rather than
    a pair per call: fewer objects for the garbage collector to visit while rules run."""

    def build() -> tuple[list[ast.Call], list[str]]:
        calls = sorted(nodes_of(ctx, result, ast.Call), key=lambda n: (n.lineno, n.col_offset))
        return calls, [call_name(ctx, call) or "" for call in calls]

    calls, names = ctx.memo(("calls", cell.index), build)
    return zip(calls, names, strict=True)


def tree_nodes(ctx: LintContext, result: CellAnalysis) -> list[ast.AST]:
    """Every node of a cell's syntax tree (breadth first, as ``ast.walk``), listed once per
    notebook: most rules scan the same trees."""
    lists = ctx.memo("nodes", dict)
    try:
        return lists[id(result)]
    except KeyError:
        found = lists[id(result)] = _all_nodes(result.tree)
        return found


def nodes_of(ctx: LintContext, result: CellAnalysis, *kinds: type[ast.AST]) -> Sequence[ast.AST]:
    """The nodes of a cell whose type is one of ``kinds`` (concrete node classes such as
    ``ast.Call``, not ``ast.expr``), in the order of ``tree_nodes``; listed once per notebook.

    A rule that looks at one or two kinds of node then skips the others without testing
    each with ``isinstance``. A cell without any such node shares one empty tuple: every
    list kept for the whole notebook adds to the garbage collector's work.
    """

    lists = ctx.memo(kinds, dict)
    try:
        return lists[id(result)]
    except KeyError:
        pass
    nodes = tree_nodes(ctx, result)
    if len(kinds) == 1:
        kind = kinds[0]
        found = [n for n in nodes if type(n) is kind]
    else:
        wanted = frozenset(kinds)
        found = [n for n in nodes if type(n) in wanted]
    lists[id(result)] = found = found or ()
    return found


def _all_nodes(tree: ast.AST) -> list[ast.AST]:
    # ast.walk's generators cost more than the scan itself on large notebooks. The
    # Load/Store/Del markers are left out: no rule looks at them, and they are a third of
    # the nodes.
    found = [tree]
    position = 0
    while position < len(found):
        node = found[position]
        position += 1
        if type(node) not in _LEAVES:
            found.extend(child_nodes(node))
    return found


def string_constants(ctx: LintContext, result: CellAnalysis) -> list[ast.Constant]:
    """String literals of a cell in source order (f-string parts included)."""

    def build() -> list[ast.Constant]:
        found = [n for n in nodes_of(ctx, result, ast.Constant) if type(n.value) is str]
        found.sort(key=lambda n: (n.lineno, n.col_offset))
        return found

    return ctx.memo(f"strings:{id(result)}", build)


def sg_root(ctx: LintContext, cell: Cell, result: CellAnalysis):
    """The ast-grep tree of a cell's masked source, parsed once per notebook."""
    from ast_grep_py import SgRoot

    return ctx.memo(f"sg:{cell.index}", lambda: SgRoot(result.masked_source, "python").root())


def sg_span(node) -> Span:
    """An ast-grep node's position as a 1-based ``Span`` (ast-grep counts from 0)."""
    where = node.range()
    return Span(where.start.line + 1, where.start.column + 1, where.end.line + 1,
                where.end.column + 1)


def magic_span(cell: Cell, line: int) -> Span:
    """The span of a whole IPython line (without its indentation)."""
    lines = cell.source.split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    start = len(text) - len(text.lstrip()) + 1
    return Span(line, start, line, len(text.rstrip()) + 1)
