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
import warnings
from dataclasses import dataclass, field
from functools import cached_property

from .syntax import parse

__all__ = [
    "CellAnalysis",
    "Magic",
    "NotebookAnalysis",
    "analyze_notebook",
    "analyze_source",
    "mask_ipython",
    "ALWAYS_DEFINED",
    "dotted",
    "import_aliases",
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
        words = lines[first].lstrip()[2:].split(maxsplit=1)
        name = words[0] if words else ""
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
        elif "?" in stripped and _HELP_RE.match(text):
            magics.append(Magic(index + 1, "help", stripped.strip("?"), text))
            lines[index] = indent + "pass"
        elif "!" in stripped or "%" in stripped:  # `x = !cmd` or `x = %magic`
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
            with warnings.catch_warnings():
                # Invalid escapes in old notebooks warn at parse time; not the linter's output.
                warnings.simplefilter("ignore")
                return parse("\n".join(lines)), "\n".join(lines)
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

    # NodeVisitor.visit looks the method up by name for every node; one lookup per node
    # type makes the walk several times cheaper on large notebooks. The table is shared by
    # every walker, which is right as long as this class has no subclasses.
    _methods: dict[type, object] = {}

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = self._methods.get(kind)
        if method is None:
            method = getattr(type(self), "visit_" + kind.__name__, _ModuleWalker.generic_visit)
            self._methods[kind] = method
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for child in _child_nodes(node):
            self.visit(child)

    def visit_Constant(self, node: ast.Constant) -> None:
        return None  # no names inside (and NodeVisitor's version checks deprecated names)

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
        else:  # Del: the cell no longer leaves the name bound (unless it binds it again)
            self.r.deletes.setdefault(node.id, node.lineno)
            self.r.defines.pop(node.id, None)
            self.bound.discard(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        if node.value is not None or not isinstance(node.target, ast.Name):
            self.visit(node.target)  # a bare `x: int` declares x but does not bind it

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
            # `except E as e` binds e for the handler only: Python deletes it afterwards.
            self.bound.add(node.name)
        for stmt in node.body:
            self.visit(stmt)
        if node.name:
            self.bound.discard(node.name)
            self.r.defines.pop(node.name, None)

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
        for part in _outer_parts(node):
            self.visit(part)
        reads, global_stores = _function_free_names(node)
        self.r.functions[node.name] = set(reads)
        for name in reads:
            if name not in ALWAYS_DEFINED:
                self.r.function_reads.setdefault(name, reads[name])
        for name, line in global_stores.items():
            self.r.defines.setdefault(name, line)
        self._define(node.name, node.lineno)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        # A lambda at module level is usually called right away (sorted(key=...)): its body's
        # reads count as reads of the cell.
        for part in _outer_parts(node):
            self.visit(part)
        for name, line in _inner_free(node).items():
            self._use(name, line)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for part in _outer_parts(node):
            self.visit(part)
        class_bound: set[str] = set()
        methods: set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for part in _outer_parts(stmt):
                    self._class_read(part, class_bound)
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

    def _class_read(self, root: ast.AST, class_bound: set[str]) -> None:
        """Reads of a class-body statement, in execution order. Names the class body binds
        are visible to later statements of the body but not to nested scopes (methods,
        lambdas, comprehensions), which read the module's names."""
        for sub in _same_scope_nodes([root]):
            if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
                if sub.target.id not in class_bound:
                    self._use(sub.target.id, sub.lineno)
            elif isinstance(sub, ast.Name):
                if isinstance(sub.ctx, ast.Store):
                    class_bound.add(sub.id)
                elif isinstance(sub.ctx, ast.Load) and sub.id not in class_bound:
                    self._use(sub.id, sub.lineno)
            elif isinstance(sub, _SCOPES):
                for part in _outer_parts(sub):
                    self._class_read(part, class_bound)
                for name, line in _inner_free(sub).items():
                    self._use(name, line)
                class_bound |= set(_walrus_targets(sub))
                if isinstance(sub, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    class_bound.add(sub.name)

    def _visit_comprehension(self, node: ast.AST) -> None:
        for part in _outer_parts(node):  # the first iterable runs in the enclosing scope
            self.visit(part)
        for name, line in _inner_free(node).items():
            self._use(name, line)
        for name, line in _walrus_targets(node).items():  # `:=` binds in the enclosing scope
            self._define(name, line)

    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension
    visit_DictComp = _visit_comprehension


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPES = (*_FUNCTIONS, ast.ClassDef, *_COMPREHENSIONS)
_SCOPE_TYPES = frozenset(_SCOPES)


# Fields that never hold a node with names in it: identifiers, flags, positions, the
# Load/Store/Del markers and the operator singletons (``ast.Add``, ``ast.Eq``...).
_SCALAR_FIELDS = frozenset({
    "id", "ctx", "attr", "arg", "name", "asname", "module", "level", "conversion",
    "is_async", "simple", "type_comment", "kind", "rest", "op", "ops", "lineno", "tag",
})
_NODE_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` as a list, without the nodes that hold no names (``Load``,
    ``Store``, ``Del``, operators) and without its per-field generator overhead."""
    kind = type(node)
    fields = _NODE_FIELDS.get(kind)
    if fields is None:
        fields = _NODE_FIELDS[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
    return found


_LEAVES = frozenset({ast.Name, ast.Constant, ast.Pass, ast.Break, ast.Continue, ast.Global,
                     ast.Nonlocal, ast.alias})


def _children(node: ast.AST) -> list[ast.AST]:
    """Child nodes in evaluation order (the value of an assignment before its targets)."""
    kind = type(node)
    if kind in _LEAVES:
        return []
    if kind is ast.Assign:
        return [node.value, *node.targets]
    if kind is ast.AugAssign or kind is ast.NamedExpr:
        return [node.value, node.target]
    if kind is ast.AnnAssign:
        return [n for n in (node.value, node.annotation, node.target) if n is not None]
    if kind is ast.For or kind is ast.AsyncFor:
        return [node.iter, node.target, *node.body, *node.orelse]
    return _child_nodes(node)


def _same_scope_nodes(roots: list[ast.AST]) -> list[ast.AST]:
    """Nodes of one scope in evaluation order; nested scope nodes are listed, not entered."""
    found: list[ast.AST] = []
    stack = list(reversed(roots))
    scopes = _SCOPE_TYPES
    while stack:
        node = stack.pop()
        found.append(node)
        if type(node) not in scopes:
            children = _children(node)
            if children:
                children.reverse()
                stack.extend(children)
    return found


def _outer_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a nested scope that run in the enclosing scope: decorators, defaults,
    annotations, base classes, a comprehension's first iterable."""
    if isinstance(node, _FUNCTIONS):
        args = node.args
        parts: list[ast.AST] = [*args.defaults, *[d for d in args.kw_defaults if d is not None]]
        if not isinstance(node, ast.Lambda):
            parts = [*node.decorator_list, *parts]
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None and arg.annotation is not None:
                    parts.append(arg.annotation)
            if node.returns is not None:
                parts.append(node.returns)
        return parts
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    if isinstance(node, _COMPREHENSIONS):
        return [node.generators[0].iter]
    return []


def _parameters(args: ast.arguments) -> set[str]:
    return {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a is not None
    }


def _walrus_targets(node: ast.AST) -> dict[str, int]:
    """``:=`` targets inside a comprehension (nested ones too): they bind in the scope that
    contains the comprehension."""
    if not isinstance(node, _COMPREHENSIONS):
        return {}
    found: dict[str, int] = {}
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.NamedExpr) and isinstance(current.target, ast.Name):
            found.setdefault(current.target.id, current.lineno)
        for child in _child_nodes(current):
            if not isinstance(child, (*_FUNCTIONS, ast.ClassDef)):
                stack.append(child)
    return found


def _scope_reads(
    roots: list[ast.AST], local: set[str], nodes: list[ast.AST] | None = None
) -> dict[str, int]:
    """Names read by ``roots`` (one scope) and by scopes nested in it, minus ``local``;
    ``nodes`` is ``_same_scope_nodes(roots)`` when the caller has it already."""
    reads: dict[str, int] = {}
    for node in _same_scope_nodes(roots) if nodes is None else nodes:
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is ast.Load and node.id not in local:
                reads.setdefault(node.id, node.lineno)
        elif kind in _SCOPE_TYPES:
            for name, line in _scope_reads(_outer_parts(node), local).items():
                reads.setdefault(name, line)
            for name, line in _inner_free(node).items():
                if name not in local:
                    reads.setdefault(name, line)
    return reads


def _inner_free(node: ast.AST) -> dict[str, int]:
    """What the body of a nested scope reads from the scopes around it."""
    if isinstance(node, _FUNCTIONS):
        reads, _ = _function_free_names(node)
        return reads
    if isinstance(node, _COMPREHENSIONS):
        generators = node.generators
        local = {n.id for g in generators for n in _target_names(g.target)}
        local |= set(_walrus_targets(node))
        parts: list[ast.AST] = [g.iter for g in generators[1:]]
        parts += [cond for g in generators for cond in g.ifs]
        parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return _scope_reads(parts, local)
    if isinstance(node, ast.ClassDef):
        reads: dict[str, int] = {}
        bound: set[str] = set()
        for sub in _same_scope_nodes(list(node.body)):
            if isinstance(sub, ast.Name):
                if isinstance(sub.ctx, ast.Store):
                    bound.add(sub.id)
                elif isinstance(sub.ctx, ast.Load) and sub.id not in bound:
                    reads.setdefault(sub.id, sub.lineno)
            elif isinstance(sub, _SCOPES):
                for name, line in _scope_reads(_outer_parts(sub), bound).items():
                    reads.setdefault(name, line)
                for name, line in _inner_free(sub).items():
                    reads.setdefault(name, line)
                if not isinstance(sub, (ast.Lambda, *_COMPREHENSIONS)):
                    bound.add(sub.name)
        return reads
    return {}


def _function_free_names(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
) -> tuple[dict[str, int], dict[str, int]]:
    """Globals a function reads when called, and globals it assigns (``global x; x = ...``).

    Python decides locality per function: a name assigned anywhere in the body is local
    everywhere in it. Names declared ``nonlocal`` belong to an enclosing function, not to the
    module. Nested functions, lambdas, classes and comprehensions add the names they read
    that this function does not bind.
    """
    body = node.body if isinstance(node.body, list) else [node.body]
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    local = _parameters(node.args)
    nodes = _same_scope_nodes(body)
    for sub in nodes:
        if type(sub) is ast.Name:
            if type(sub.ctx) is not ast.Load:  # Store or Del
                local.add(sub.id)
        elif isinstance(sub, ast.Global):
            declared_global.update(sub.names)
        elif isinstance(sub, ast.Nonlocal):
            declared_nonlocal.update(sub.names)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            local.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            local |= {a.asname or a.name.split(".")[0] for a in sub.names if a.name != "*"}
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            local.add(sub.name)
        elif isinstance(sub, (ast.MatchAs, ast.MatchStar)) and sub.name:
            local.add(sub.name)
        elif isinstance(sub, ast.MatchMapping) and sub.rest:
            local.add(sub.rest)
        elif isinstance(sub, _COMPREHENSIONS):
            local |= set(_walrus_targets(sub))
    local -= declared_global
    reads = _scope_reads(body, local | declared_nonlocal, nodes)
    global_stores: dict[str, int] = {}
    if declared_global:
        for sub in nodes:
            if (type(sub) is ast.Name and type(sub.ctx) is ast.Store
                    and sub.id in declared_global):
                global_stores.setdefault(sub.id, sub.lineno)
    return reads, global_stores


@dataclass
class NotebookAnalysis:
    """Def-use facts for every code cell of a notebook, with order-aware queries."""

    cells: list  # list[Cell] (code cells only, notebook order)
    results: list[CellAnalysis]

    def of(self, cell_index: int) -> CellAnalysis:
        for cell, result in zip(self.cells, self.results, strict=True):
            if cell.index == cell_index:
                return result
        raise KeyError(cell_index)

    @cached_property
    def definers(self) -> dict[str, list[int]]:
        """name -> indexes (1-based, notebook order) of the cells that define it."""
        found: dict[str, list[int]] = {}
        for cell, result in zip(self.cells, self.results, strict=True):
            for name in result.defines:
                found.setdefault(name, []).append(cell.index)
        return found

    def used_before_defined(self) -> list[tuple[int, str, int, int]]:
        """Reads of a name before any cell defines it, in top-to-bottom order.

        Returns (cell index, name, line, defining cell index) for names whose first
        definition comes later: in a cell below, or further down the same cell (then the
        defining index is the cell's own). The classic cause of NameError when the
        notebook is rerun from the top.
        """
        found = []
        seen: set[str] = set()
        for cell, result in zip(self.cells, self.results, strict=True):
            for name, line in result.free_uses.items():
                if name not in seen and name in self.definers:
                    later = [i for i in self.definers[name] if i >= cell.index]
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
        for cell, result in zip(self.cells, self.results, strict=True):
            for name, line in result.free_uses.items():
                if name not in self.definers:
                    found.append((cell.index, name, line))
        return found


def analyze_notebook(nb) -> NotebookAnalysis:
    """Analyse every code cell of ``nb`` (a ``nbprod.notebook.Notebook``)."""
    cells = nb.code_cells
    return NotebookAnalysis(cells=cells, results=[analyze_source(c.source) for c in cells])


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def import_aliases(nodes) -> dict[str, str]:
    """Local name -> dotted origin for every absolute import among ``nodes`` (``np`` -> ``numpy``).

    ``nodes`` is any iterable of AST nodes (e.g. ``ast.walk(tree)``); star imports are skipped.
    """
    aliases: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases
