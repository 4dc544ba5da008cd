"""Shared building blocks of the rule families: positions, import aliases, call names, ast-grep.

Rules read cells through the def-use analysis, whose ``masked_source`` has IPython lines
replaced by Python of the same line count, so every position found here is the cell's own.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.machinery
import os
import re
import sys
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
    "star_import_names",
    "string_constants",
    "tree_nodes",
    "unreached_calls",
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


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Decorators that call the function they decorate (ipywidgets).
_CALLING_DECORATORS = frozenset({"interact", "interact_manual"})
_WORD = re.compile(r"[A-Za-z_]\w*")


def unreached_calls(ctx: LintContext) -> frozenset[int]:
    """Ids of the call nodes that a top-to-bottom run of the notebook never executes: those
    in the body of a function (or method) that nothing the notebook runs refers to.

    What runs: the top level of every cell (class bodies, decorators, default values and
    lambdas included), then the body of each function whose name it reads (called or passed
    on, ``f()``, ``map(f, xs)``, ``obj.f()``), and so on from the bodies reached. Naming a
    class reaches its dunder methods (``__init__``...); names in IPython lines (``%time f()``)
    and in cells that do not parse count as read. Names are matched whatever their scope, so
    a function is never taken for unreached when it may run."""

    def build() -> frozenset[int]:
        defs: dict[str, list[ast.AST]] = {}
        dunders: dict[str, list[ast.AST]] = {}
        for _cell, result in ctx.python_cells:
            for node in nodes_of(ctx, result, *_FUNCTIONS):
                defs.setdefault(node.name, []).append(node)
            for node in nodes_of(ctx, result, ast.ClassDef):
                dunders.setdefault(node.name, []).extend(
                    m for m in node.body
                    if isinstance(m, _FUNCTIONS) and m.name.startswith("__")
                    and m.name.endswith("__")
                )
        if not defs:
            return frozenset()
        live: set[int] = set()
        pending: list[ast.AST] = []

        def reach(name: str) -> None:
            for node in (*defs.get(name, ()), *dunders.get(name, ())):
                if id(node) not in live:
                    live.add(id(node))
                    pending.extend(node.body)

        for _cell, result in ctx.code_cells:
            if result.tree is None and not result.opaque:
                for word in _WORD.findall(result.masked_source or ""):
                    reach(word)
            for magic in result.magics:
                for word in _WORD.findall(magic.text):
                    reach(word)
            if result.tree is not None:
                pending.extend(result.tree.body)
        while pending:
            node = pending.pop()
            kind = type(node)
            if kind is ast.Name:
                if isinstance(node.ctx, ast.Load):
                    reach(node.id)
                continue
            if kind is ast.Attribute:
                reach(node.attr)
            elif kind in _FUNCTIONS:
                # Defining a function runs its decorators, defaults and annotations only.
                if any(_decorator_name(d) in _CALLING_DECORATORS for d in node.decorator_list):
                    reach(node.name)
                pending.extend(node.decorator_list)
                pending.extend(_signature_parts(node))
                continue
            pending.extend(child_nodes(node))
        unreached = [node for named in defs.values() for node in named if id(node) not in live]
        return frozenset(
            id(call) for node in unreached for stmt in node.body for call in walk_calls(stmt)
        )

    return ctx.memo("unreached_calls", build)


def _decorator_name(node: ast.AST) -> str:
    node = node.func if isinstance(node, ast.Call) else node
    name = dotted(node) or ""
    return name.rsplit(".", 1)[-1]


def _signature_parts(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """What a ``def`` statement evaluates: default values and annotations."""
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    parts: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    parts += [a.annotation for a in every if a is not None and a.annotation is not None]
    if node.returns is not None:
        parts.append(node.returns)
    return parts


@functools.lru_cache(maxsize=256)
def star_import_names(module: str) -> frozenset[str] | None:
    """The names ``from module import *`` binds, when they can be known without running
    the module's Python code: those of a standard library module written in C (``math``,
    imported to list them), else those the source of a pure-Python module binds (its
    literal ``__all__``, else its public top-level names, star imports followed). None when
    they cannot be known, and the star import may bind any name: a relative or unknown
    module, a third-party extension module, a computed ``__all__``. Whatever this process
    has imported already, the answer is the same."""
    return _star_names(module, frozenset())


def _star_names(module: str, seen: frozenset[str]) -> frozenset[str] | None:
    if module == "os.path":
        module = os.path.__name__  # posixpath or ntpath: what os imports as os.path
    if not module or module.startswith(".") or module in seen:
        return None
    spec = _find_spec(module)
    if spec is None and module not in sys.builtin_module_names:
        return None
    if module in sys.builtin_module_names or (
        isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)
        and module.split(".")[0] in getattr(sys, "stdlib_module_names", ())
    ):
        loaded = importlib.import_module(module)
        names = getattr(loaded, "__all__", None)
        if names is None:
            names = [name for name in vars(loaded) if not name.startswith("_")]
        return frozenset(names) if all(isinstance(n, str) for n in names) else None
    if not isinstance(spec.origin, str) or not spec.origin.endswith(".py"):
        return None
    try:
        with open(spec.origin, encoding="utf-8") as file:
            source = file.read()
        tree = ast.parse(source)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    if "globals()" in source:
        return None
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    return _public_names(tree, package, seen | {module})


def _find_spec(module: str):
    """The spec of ``module`` on sys.path, found without importing its packages."""
    parts = module.split(".")
    try:
        spec = importlib.machinery.PathFinder.find_spec(parts[0])
        for depth in range(2, len(parts) + 1):
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[:depth]), list(spec.submodule_search_locations)
            )
    except (ImportError, ValueError):
        return None
    return spec


def _public_names(tree: ast.Module, package: str, seen: frozenset[str]) -> frozenset[str] | None:
    """What a star import of the module ``tree`` binds (see ``star_import_names``)."""
    exported: list[str] | None = None
    bound: set[str] = set()
    for stmt, top in _module_statements(tree.body, top=True):
        targets: list[ast.AST] = []
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(stmt.name)
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                if alias.name != "*":
                    bound.add(alias.asname or alias.name.split(".")[0])
                    continue
                star = _star_names(_absolute(stmt, package), seen)
                if star is None:
                    return None
                bound |= star
        elif isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            targets = [stmt.target]
        names = {node.id for t in targets for node in ast.walk(t) if isinstance(node, ast.Name)}
        bound |= names
        if "__all__" not in names:
            continue
        value = getattr(stmt, "value", None)
        if not top or len(targets) != 1 or not isinstance(value, ast.List | ast.Tuple) or not all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        ):
            return None  # computed, or assigned under a condition
        listed = [e.value for e in value.elts]
        exported = (exported or []) + listed if isinstance(stmt, ast.AugAssign) else listed
    if exported is not None:
        return frozenset(exported)
    return frozenset(name for name in bound if not name.startswith("_"))


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from ... import`` in a module of ``package`` names ("" when above it)."""
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    if node.level - 1 >= len(parts):
        return ""
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _module_statements(body: list[ast.stmt], top: bool):
    """(statement, whether at the top level) for the statements a module runs on import,
    in source order: those of compound statements too, not those of functions and classes."""
    for stmt in body:
        yield stmt, top
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        nested = [*getattr(stmt, "body", ()), *getattr(stmt, "orelse", ()),
                  *getattr(stmt, "finalbody", ())]
        for part in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
            nested += part.body
        yield from _module_statements(nested, top=False)


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
