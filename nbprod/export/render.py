"""Rendering generated Python: the Jinja templates, and the lint codes cell-joining causes.

Templates are the files of ``templates/export/`` (``nbprod.template_paths`` finds them in a
checkout and in an installed wheel alike), so a wheel renders exactly what the tests render.
"""

from __future__ import annotations

import ast
import sys
from functools import lru_cache

from ..syntax import parse
from ..template_paths import template_dir

__all__ = [
    "import_block", "indent", "noqa_codes", "python_list", "render", "sorted_names",
]


@lru_cache(maxsize=1)
def _environment():
    # Jinja is imported lazily: only export needs it, and it costs ~20 ms at startup.
    import jinja2

    def load(name: str) -> str:
        return (template_dir("export") / name).read_text("utf-8")

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=False,  # noqa: S701 - the output is Python source, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, **context) -> str:
    """Render ``templates/<template>``; blank lines around the result are trimmed to one
    final newline, so optional blocks at either end leave no gaps."""
    text = _environment().get_template(template).render(**context)
    return text.strip("\n") + "\n"


def python_list(names: list[str], *, prefix: str = "__all__ = ") -> str:
    """A list literal of strings, wrapped one per line when it would exceed 100 columns."""
    flat = prefix + "[" + ", ".join(f'"{n}"' for n in names) + "]"
    if len(flat) <= 100:
        return flat
    inner = "".join(f'    "{n}",\n' for n in names)
    return f"{prefix}[\n{inner}]"


def indent(code: str, spaces: int = 4) -> str:
    """Indent every non-blank line (blank lines stay empty, so no trailing whitespace)."""
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in code.split("\n"))


def sorted_names(names: list[str]) -> list[str]:
    """Names in isort style (as ruff's RUF022 wants ``__all__``): CONSTANTS, Classes, others."""
    def key(name: str) -> tuple[int, str]:
        if name.isupper() and len(name) > 1:
            kind = 0
        elif name[:1].isupper():
            kind = 1
        else:
            kind = 2
        return kind, name

    return sorted(dict.fromkeys(names), key=key)


def import_block(statements: list[str], first_party: str) -> list[str]:
    """Import statements grouped and ordered as isort (ruff's I001) expects.

    Sections are the standard library, third parties, then ``first_party`` (the generated
    package); within one, ``import x`` lines come before ``from x import y`` lines, each by
    module name; names imported from one module are merged onto one line.
    """
    straight: dict[int, set[str]] = {0: set(), 1: set(), 2: set()}
    members: dict[int, dict[str, set[str]]] = {0: {}, 1: {}, 2: {}}
    for text in statements:
        tree = parse(text)
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    as_part = f" as {alias.asname}" if alias.asname else ""
                    straight[_section(alias.name, first_party)].add(f"import {alias.name}{as_part}")
            elif isinstance(stmt, ast.ImportFrom) and stmt.module:
                module = "." * stmt.level + stmt.module
                found = members[_section(module, first_party)].setdefault(module, set())
                for alias in stmt.names:
                    found.add(alias.name + (f" as {alias.asname}" if alias.asname else ""))
    lines: list[str] = []
    for section in (0, 1, 2):
        block = sorted(straight[section], key=lambda t: t.split()[1].lower())
        for module in sorted(members[section], key=str.lower):
            names = sorted_names(sorted(members[section][module] - {"*"}))
            if "*" in members[section][module]:
                block.append(f"from {module} import *")  # never merged with names
            if not names:
                continue
            flat = f"from {module} import {', '.join(names)}"
            if len(flat) <= 100:
                block.append(flat)
            else:
                inner = "".join(f"    {n},\n" for n in names)
                block.append(f"from {module} import (\n{inner})")
        if block:
            if lines:
                lines.append("")
            lines.extend(block)
    return lines


def _section(module: str, first_party: str) -> int:
    top = module.split(".")[0]
    if module.startswith(".") or (first_party and top == first_party.split(".")[0]):
        return 2
    return 0 if top in sys.stdlib_module_names or top == "__future__" else 1


def _parse(code: str | ast.Module) -> ast.Module | None:
    if isinstance(code, ast.Module):
        return code
    try:
        return parse(code)
    except SyntaxError:
        return None


def noqa_codes(cells: list[str | ast.Module], exported: list[str], *,
               wrapped: list[str | ast.Module] = ()) -> list[str]:
    """Ruff codes that joining notebook cells into one file causes, to silence file-wide.

    In a notebook, an import at the top of a later cell is normal (E402, and I001 when two
    cells' imports meet), an import used only by cells that were not exported is not unused
    there (F401), redefining a function in a later cell is how notebooks evolve (F811), and a
    cell's last expression is displayed, not useless (B018). Wrapping a cell in a function
    (tests, steps) makes its variables locals that may go unread (F841, RUF059) and its
    imports local ones, unused when the line that showed them is left out (F401). Star imports
    (F403/F405) are kept as written. Any other finding is the notebook code's own and is left
    for the user to see. RUF100 is added so the list holds under any rule selection.

    Parameters
    ----------
    cells:
        The module-level code (or its parsed tree) of each cell, in file order.
    exported:
        Names listed in ``__all__`` (they count as used).
    wrapped:
        The body (code or tree) of each generated function that holds cell code; a step's
        return values appear as a final ``return``, so they count as read.
    """
    codes: set[str] = set()
    trees = [tree for tree in map(_parse, cells) if tree is not None]
    seen_code = False
    previous_ends_with_import = False
    bound_by_import: set[str] = set()
    bound_count: dict[str, int] = {}
    read: set[str] = set()
    for tree in trees:
        read |= _loaded_names(tree)
        for position, stmt in enumerate(tree.body):
            is_import = isinstance(stmt, (ast.Import, ast.ImportFrom))
            if position == 0 and is_import and previous_ends_with_import:
                codes.add("I001")
            if is_import and isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                continue  # compiler directives: never "unused", always first
            if is_import:
                if seen_code:
                    codes.add("E402")
                for alias in stmt.names:
                    if alias.name == "*":
                        codes.update({"F403", "F405"})
                        continue
                    name = alias.asname or alias.name.split(".")[0]
                    bound_by_import.add(name)
                    bound_count[name] = bound_count.get(name, 0) + 1
            elif not (_is_dunder_all(stmt) or _is_docstring(stmt)):
                seen_code = True
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bound_count[stmt.name] = bound_count.get(stmt.name, 0) + 1
        if tree.body:
            previous_ends_with_import = isinstance(tree.body[-1], (ast.Import, ast.ImportFrom))
            if _useless_expression(tree.body[-1]):
                codes.add("B018")
    for body in wrapped:
        tree = _parse(body)
        if tree is not None:
            codes |= _wrapped_codes(tree)
            read |= _loaded_names(tree)
    if any(count > 1 for count in bound_count.values()):
        codes.add("F811")
    if any(name not in read and name not in exported for name in bound_by_import):
        codes.add("F401")
    return sorted(codes) + ["RUF100"] if codes else []


def _loaded_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _useless_expression(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.Expr):
        return False
    value = stmt.value
    if isinstance(value, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
        return False
    return not (isinstance(value, ast.Constant) and isinstance(value.value, str))


def _wrapped_codes(tree: ast.Module) -> set[str]:
    """Codes a cell body causes once it is the body of a function."""
    codes: set[str] = set()
    read = _reads(tree.body)
    read |= {n.target.id for n in ast.walk(tree)
             if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
    defined: dict[str, int] = {}
    for stmt in tree.body:
        if _useless_expression(stmt):
            codes.add("B018")
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[stmt.name] = defined.get(stmt.name, 0) + 1
        for node in _same_scope(stmt):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id not in read:
                        codes.add("F841")
                    elif isinstance(target, (ast.Tuple, ast.List)) and any(
                            isinstance(e, ast.Name) and e.id not in read for e in target.elts):
                        # `a, b = 1, 2` assigns each name on its own (F841); unpacking one
                        # value is RUF059.
                        pairwise = isinstance(node.value, (ast.Tuple, ast.List)) and len(
                            node.value.elts) == len(target.elts)
                        codes.add("F841" if pairwise else "RUF059")
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(
                    node.target, ast.Name) and node.target.id not in read:
                codes.add("F841")
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name) and \
                            item.optional_vars.id not in read:
                        codes.add("F841")
            elif isinstance(node, ast.ExceptHandler) and node.name and node.name not in read:
                codes.add("F841")
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                    (alias.asname or alias.name.split(".")[0]) not in read
                    for alias in node.names if alias.name != "*"):
                codes.add("F401")  # imported for a line that showed a value, left out
    if any(count > 1 for count in defined.values()):
        codes.add("F811")
    return codes


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _reads(nodes: list[ast.AST]) -> set[str]:
    """The names code reads from its own scope: its loads, and the loads of nested functions
    and classes of names they do not bind themselves (a local of the same name in a nested
    function is another variable, which leaves the outer one unread)."""
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            inner = [node.body] if isinstance(node, ast.Lambda) else node.body
            found |= _reads(inner) - _bound(node)
            # Decorators, defaults and base classes run in the enclosing scope.
            stack.extend(getattr(node, "decorator_list", []))
            stack.extend(getattr(node, "bases", []))
            if not isinstance(node, ast.ClassDef):
                stack.extend([*node.args.defaults, *filter(None, node.args.kw_defaults)])
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            found.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _bound(scope: ast.AST) -> set[str]:
    """Names a function or class binds for itself: its arguments and what it assigns,
    without those it declares ``global`` or ``nonlocal``."""
    names = {n.id for n in ast.walk(scope)
             if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    if not isinstance(scope, ast.ClassDef):
        arguments = scope.args
        names |= {a.arg for a in [*arguments.posonlyargs, *arguments.args,
                                  *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
                  if a is not None}
    shared = {name for n in ast.walk(scope) if isinstance(n, (ast.Global, ast.Nonlocal))
              for name in n.names}
    return names - shared


def _same_scope(node: ast.AST):
    """``node`` and the nodes of its scope; a function or class is listed, not entered (its
    locals were locals in the notebook already)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if not isinstance(current, _SCOPES):
            stack.extend(ast.iter_child_nodes(current))


def _is_dunder_all(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and stmt.targets[0].id == "__all__"
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
        and isinstance(stmt.value.value, str)
