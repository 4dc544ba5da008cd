"""Def-use analysis of notebook cells: which names each cell defines, reads, imports, deletes.

Lint uses it for hidden-state rules; export uses it to build module contents and the inputs and
outputs of pipeline steps. IPython syntax (``%magic``, ``!shell``, ``x = !cmd``, ``%%cell``
magics, ``obj?`` and automagics such as ``pip install x``) is recognised and masked line by line
before parsing, so line numbers in results are the cell's own.

Scoping follows Python: comprehension targets stay in the comprehension (walrus escapes it),
function parameters and locals stay local unless declared ``global``, class bodies run at
definition time, and names a function body reads from globals are kept apart
(``function_reads``): they are read when the function is called, not when the cell runs.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from functools import cached_property

__all__ = [
    "CellAnalysis",
    "Magic",
    "NotebookAnalysis",
    "analyze_notebook",
    "analyze_source",
    "mask_ipython",
    "ALWAYS_DEFINED",
]

#: Names a Jupyter kernel defines before any cell runs.
ALWAYS_DEFINED = frozenset(dir(builtins)) | {
    "get_ipython", "display", "In", "Out", "_", "__", "___", "_i", "_ii", "_iii", "_oh", "_dh",
    "exit", "quit", "__file__", "__name__", "__builtins__", "__doc__",
}

# Cell magics whose body is still Python.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "memit", "debug", "profile"})
# Line magics IPython runs without the % when automagic is on (the default).
AUTOMAGICS = frozenset({
    "cd", "ls", "pwd", "pip", "conda", "env", "load_ext", "reload_ext", "matplotlib", "time",
    "timeit", "who", "whos", "reset", "run", "store", "history", "autoreload", "config", "mamba",
    "alias", "bookmark", "pylab", "precision", "xmode", "set_env", "cat", "less", "clear", "man",
    "mkdir", "rmdir", "rm", "cp", "mv", "ll", "lsmagic", "magic", "notebook", "load", "pdb",
    "debug", "prun", "save", "psearch", "pinfo", "dirs", "pushd", "popd", "colors", "sx", "sc",
})

_ASSIGN_MAGIC_RE = re.compile(r"^(\s*)([A-Za-z_][\w\s,.\[\]()*]*?)\s*=\s*([!%])(%?)(\w*)(.*)$")
_HELP_RE = re.compile(r"^\s*(\?\??[\w.]+|[\w.()]+\?\??)\s*$")


@dataclass(frozen=True)
class Magic:
    """An IPython construct found in a cell."""

    line: int  # 1-based within the cell
    kind: str  # "line" | "cell" | "shell" | "automagic" | "help"
    name: str  # the magic name ("pip", "cd", "bash") or the shell command's first word
    text: str  # the line as written


@dataclass
class CellAnalysis:
    """What one cell does with names; lines are 1-based within the cell."""

    defines: dict[str, int] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)  # read before defined in this cell
    function_reads: dict[str, int] = field(default_factory=dict)  # globals read by def bodies
    functions: dict[str, set[str]] = field(default_factory=dict)  # function -> globals it reads
    imports: dict[str, int] = field(default_factory=dict)  # top-level module -> line
    deletes: dict[str, int] = field(default_factory=dict)
    augmented: dict[str, int] = field(default_factory=dict)
    star_imports: list[tuple[str, int]] = field(default_factory=list)
    magics: list[Magic] = field(default_factory=list)
    opaque: bool = False  # a non-Python cell magic (%%bash, %%html...): nothing known
    syntax_error: tuple[int, str] | None = None
    tree: ast.Module | None = None
    masked_source: str = ""

    @property
    def free_uses(self) -> dict[str, int]:
        """Uses that a kernel does not provide by itself (not builtins, not IPython names)."""
        return {n: line for n, line in self.uses.items() if n not in ALWAYS_DEFINED}


def mask_ipython(source: str) -> tuple[str, list[Magic], bool]:
    """Replace IPython-only lines with Python of the same line count.

    Returns the masked source, the magics found, and whether the cell is opaque (a cell magic
    whose body is not Python).
    """
    lines = source.split("\n")
    magics: list[Magic] = []
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].lstrip()[2:].split(maxsplit=1)[0] if lines[first].strip() != "%%" else ""
        magics.append(Magic(first + 1, "cell", name, lines[first]))
        if name not in PYTHON_CELL_MAGICS:
            return "\n".join("" for _ in lines), magics, True
        lines[first] = ""
    continued = False
    for index, text in enumerate(lines):
        stripped = text.lstrip()
        indent = text[: len(text) - len(stripped)]
        was_continued = continued
        continued = text.rstrip().endswith("\\")
        if was_continued or not stripped:
            continue
        if stripped.startswith("!"):
            word = stripped[1:].split(maxsplit=1)[0] if stripped[1:].strip() else ""
            magics.append(Magic(index + 1, "shell", word, text))
            lines[index] = indent + "pass"
        elif stripped.startswith("%"):
            word = stripped.lstrip("%").split(maxsplit=1)
            magics.append(Magic(index + 1, "line", word[0] if word else "", text))
            lines[index] = indent + "pass"
        elif _HELP_RE.match(text) and "?" in stripped:
            magics.append(Magic(index + 1, "help", stripped.strip("?"), text))
            lines[index] = indent + "pass"
        else:
            match = _ASSIGN_MAGIC_RE.match(text)
            if match and not match.group(2).rstrip().endswith(("=", "!", "<", ">")):
                sigil, name = match.group(3), match.group(5)
                kind = "shell" if sigil == "!" else "line"
                if sigil == "!":
                    name = (match.group(4) + match.group(5) + match.group(6)).split()
                    name = name[0] if name else ""
                magics.append(Magic(index + 1, kind, name, text))
                lines[index] = f"{match.group(1)}{match.group(2)} = None"
    return "\n".join(lines), magics, False


def analyze_source(source: str) -> CellAnalysis:
    """Analyse one code cell's source (IPython syntax allowed)."""
    masked, magics, opaque = mask_ipython(source)
    result = CellAnalysis(magics=magics, opaque=opaque)
    if opaque:
        return result
    tree, masked = _parse_with_automagic(masked, result)
    result.masked_source = masked
    if tree is None:
        return result
    result.tree = tree
    _ModuleWalker(result).run(tree)
    return result


def _parse_with_automagic(masked: str, result: CellAnalysis) -> tuple[ast.Module | None, str]:
    lines = masked.split("\n")
    for _ in range(50):
        try:
            return ast.parse("\n".join(lines)), "\n".join(lines)
        except SyntaxError as exc:
            lineno = exc.lineno or 1
            text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
            word = text.strip().split(maxsplit=1)[0] if text.strip() else ""
            if word in AUTOMAGICS and not re.match(rf"\s*{word}\s*[=(.\[]", text):
                result.magics.append(Magic(lineno, "automagic", word, text))
                indent = text[: len(text) - len(text.lstrip())]
                lines[lineno - 1] = indent + "pass"
                continue
            result.syntax_error = (lineno, exc.msg or "invalid syntax")
            return None, "\n".join(lines)
        except (ValueError, RecursionError, MemoryError) as exc:
            result.syntax_error = (1, f"cannot parse: {type(exc).__name__}")
            return None, "\n".join(lines)
    result.syntax_error = (1, "too many IPython lines to mask")
    return None, "\n".join(lines)


def _target_names(node: ast.AST) -> list[ast.Name]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


class _ModuleWalker(ast.NodeVisitor):
    """Walks module-level code in execution order."""

    def __init__(self, result: CellAnalysis):
        self.r = result
        self.bound: set[str] = set()

    def run(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            self.visit(stmt)

    # --- binding and reading -------------------------------------------------------------
    def _define(self, name: str, line: int) -> None:
        self.r.defines.setdefault(name, line)
        self.bound.add(name)

    def _use(self, name: str, line: int) -> None:
        if name not in self.bound:
            self.r.uses.setdefault(name, line)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._use(node.id, node.lineno)
        elif isinstance(node.ctx, ast.Store):
            self._define(node.id, node.lineno)
        else:  # Del
            self.r.deletes.setdefault(node.id, node.lineno)
            self.bound.discard(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self._use(node.target.id, node.lineno)
            self.r.augmented.setdefault(node.target.id, node.lineno)
            self._define(node.target.id, node.lineno)
        else:
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._define(node.target.id, node.lineno)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in (*node.body, *node.orelse):
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.visit(item.optional_vars)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._define(node.name, node.lineno)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.r.imports.setdefault(alias.name.split(".")[0], node.lineno)
            self._define(alias.asname or alias.name.split(".")[0], node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        if node.level == 0 and node.module:
            self.r.imports.setdefault(node.module.split(".")[0], node.lineno)
        for alias in node.names:
            if alias.name == "*":
                self.r.star_imports.append((module, node.lineno))
            else:
                self._define(alias.asname or alias.name, node.lineno)

    def visit_Global(self, node: ast.Global) -> None:
        return None

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._define(node.name, node.lineno)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._define(node.name, node.lineno)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        for key in node.keys:
            self.visit(key)
        for pattern in node.patterns:
            self.visit(pattern)
        if node.rest:
            self._define(node.rest, node.lineno)

    # --- nested scopes ----------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        self._visit_arguments_at_def(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        reads, global_stores = _function_free_names(node)
        self.r.functions[node.name] = set(reads)
        for name in reads:
            if name not in ALWAYS_DEFINED:
                self.r.function_reads.setdefault(name, reads[name])
        for name, line in global_stores.items():
            self.r.defines.setdefault(name, line)
        self._define(node.name, node.lineno)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _visit_arguments_at_def(self, args: ast.arguments) -> None:
        for default in (*args.defaults, *[d for d in args.kw_defaults if d is not None]):
            self.visit(default)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_arguments_at_def(node.args)
        reads, _ = _function_free_names(node)
        for name, line in reads.items():
            self._use(name, line)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        for base in (*node.bases, *(k.value for k in node.keywords)):
            self.visit(base)
        class_bound: set[str] = set()
        methods: set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for deco in stmt.decorator_list:
                    self._class_read(deco, class_bound)
                reads, global_stores = _function_free_names(stmt)
                methods |= set(reads)
                for name in reads:
                    if name not in ALWAYS_DEFINED:
                        self.r.function_reads.setdefault(name, reads[name])
                for name, line in global_stores.items():
                    self.r.defines.setdefault(name, line)
                class_bound.add(stmt.name)
            else:
                self._class_read(stmt, class_bound)
        self.r.functions[node.name] = methods
        self._define(node.name, node.lineno)

    def _class_read(self, stmt: ast.AST, class_bound: set[str]) -> None:
        for sub in _walk_same_scope(stmt):
            if isinstance(sub, ast.Name):
                if isinstance(sub.ctx, ast.Store):
                    class_bound.add(sub.id)
                elif isinstance(sub.ctx, ast.Load) and sub.id not in class_bound:
                    self._use(sub.id, sub.lineno)

    def _visit_comprehension(self, node: ast.AST, elements: list[ast.AST]) -> None:
        generators: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        # The first iterable is evaluated in the enclosing scope.
        self.visit(generators[0].iter)
        local: set[str] = set()
        for index, gen in enumerate(generators):
            if index:
                self._comp_reads(gen.iter, local)
            local |= {n.id for n in _target_names(gen.target)}
            for cond in gen.ifs:
                self._comp_reads(cond, local)
        for element in elements:
            self._comp_reads(element, local)

    def _comp_reads(self, expr: ast.AST, local: set[str]) -> None:
        for sub in ast.walk(expr):
            if isinstance(sub, ast.NamedExpr):
                self._define(sub.target.id, sub.lineno)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if sub.id not in local:
                    self._use(sub.id, sub.lineno)
            elif isinstance(sub, (ast.comprehension,)):
                local |= {n.id for n in _target_names(sub.target)}

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._visit_comprehension(node, [node.elt])

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._visit_comprehension(node, [node.key, node.value])


def _walk_same_scope(node: ast.AST):
    """Like ast.walk, but does not descend into nested function, lambda or class scopes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            stack.append(child)


def _function_free_names(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
) -> tuple[dict[str, int], dict[str, int]]:
    """Globals a function reads when called, and globals it assigns (``global x; x = ...``)."""
    args = node.args
    params = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a is not None
    }
    body = node.body if isinstance(node.body, list) else [node.body]
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    local = set(params)
    for stmt in body:
        for sub in _walk_same_scope(stmt):
            if isinstance(sub, ast.Global):
                declared_global.update(sub.names)
            elif isinstance(sub, ast.Nonlocal):
                declared_nonlocal.update(sub.names)
    for stmt in body:
        for sub in _walk_same_scope(stmt):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                local.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                for alias in sub.names:
                    if alias.name != "*":
                        local.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                local.add(sub.name)
    local -= declared_global
    reads: dict[str, int] = {}
    global_stores: dict[str, int] = {}
    comp_locals: set[str] = set()
    for stmt in body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.comprehension):
                comp_locals |= {n.id for n in _target_names(sub.target)}
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                a = sub.args
                comp_locals |= {
                    x.arg
                    for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg)
                    if x is not None
                }
                if not isinstance(sub, ast.Lambda):
                    inner_local = {
                        n.id
                        for s in sub.body
                        for n in _walk_same_scope(s)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                    }
                    comp_locals |= inner_local
    for stmt in body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Name):
                if isinstance(sub.ctx, ast.Load):
                    if sub.id not in local and sub.id not in declared_nonlocal and (
                        sub.id not in comp_locals or sub.id in declared_global
                    ):
                        reads.setdefault(sub.id, sub.lineno)
                elif sub.id in declared_global:
                    global_stores.setdefault(sub.id, sub.lineno)
    return reads, global_stores


@dataclass
class NotebookAnalysis:
    """Def-use facts for every code cell of a notebook, with order-aware queries."""

    cells: list  # list[Cell] (code cells only, notebook order)
    results: list[CellAnalysis]

    def of(self, cell_index: int) -> CellAnalysis:
        for cell, result in zip(self.cells, self.results):
            if cell.index == cell_index:
                return result
        raise KeyError(cell_index)

    @cached_property
    def definers(self) -> dict[str, list[int]]:
        """name -> indexes (1-based, notebook order) of the cells that define it."""
        found: dict[str, list[int]] = {}
        for cell, result in zip(self.cells, self.results):
            for name in result.defines:
                found.setdefault(name, []).append(cell.index)
        return found

    def used_before_defined(self) -> list[tuple[int, str, int, int]]:
        """Reads of a name above its first defining cell (top-to-bottom order).

        Returns (cell index, name, line, defining cell index) for names defined only later:
        the classic cause of NameError when the notebook is rerun from the top.
        """
        found = []
        seen: set[str] = set()
        for cell, result in zip(self.cells, self.results):
            for name, line in result.free_uses.items():
                if name not in seen and name in self.definers:
                    later = [i for i in self.definers[name] if i > cell.index]
                    if later:
                        found.append((cell.index, name, line, later[0]))
            seen |= set(result.defines)
        return found

    def undefined(self) -> list[tuple[int, str, int]]:
        """Reads of names no cell defines (hidden state, or a deleted cell)."""
        star = any(r.star_imports for r in self.results)
        if star:
            return []
        found = []
        for cell, result in zip(self.cells, self.results):
            for name, line in result.free_uses.items():
                if name not in self.definers:
                    found.append((cell.index, name, line))
        return found

    def defined_before(self, name: str, cell_index: int) -> bool:
        return any(i < cell_index for i in self.definers.get(name, []))


def analyze_notebook(nb) -> NotebookAnalysis:
    """Analyse every code cell of ``nb`` (a ``nbprod.notebook.Notebook``)."""
    cells = nb.code_cells
    return NotebookAnalysis(cells=cells, results=[analyze_source(c.source) for c in cells])
