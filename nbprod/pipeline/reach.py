"""The project code a step reaches: the definitions it uses, through imports, in turn.

A step's cache key must change when any code it runs changes, not only its own lines: the
exported helpers a generated step module imports (``from wine.train import train``), and the
project's own modules a step or notebook imports (``from mylib import clean``). Installed
packages are not followed: the environment fingerprint covers them.

Reach is followed name by name. From a step function, every global name it reads is looked
up: a top-level definition of the same module (function, class, assignment) is reached and
read in turn; an imported name leads to that definition in the module it came from, when that
module is *local* (shipped with the pipeline as generated code, or a ``.py`` file of the
project: ``<root>/a/b.py``, ``<root>/a/b/__init__.py``, or the same under ``src/``). A module
used as a whole (``mylib.clean``, ``import mylib`` then ``mylib``) is followed by attribute
where it can be, else as a whole. A module's top-level statements that are not definitions
or imports (they run at import time) count whenever anything of it is reached. So editing one
helper reruns the steps that call it, and only those; when in doubt, more is reached, never
less.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis import mask_ipython
from ..syntax import parse

__all__ = ["WHOLE", "local_module_finder", "reached_code", "runs_processes"]

#: Stands for "everything in the module" in a (module, name) pair.
WHOLE = "*"

#: A local module's source, and whether it is a package (``__init__.py``).
Found = tuple[str, bool]


def local_module_finder(root: Path, shipped: Mapping[str, str], first: Path | None = None
                        ) -> Callable[[str], Found | None]:
    """A lookup: dotted name -> (source, is_package) of a local module, or None.

    ``first`` is searched before the project root: the folder a notebook step's kernel runs
    in, whose ``.py`` files its imports find first (``notebooks/helpers.py``).
    """
    found: dict[str, Found | None] = {}
    bases = [*([first] if first is not None else []), root, root / "src"]

    def find(name: str) -> Found | None:
        if name in shipped:
            return shipped[name], False
        if name not in found:
            found[name] = _read_project_module(bases, name)
        return found[name]

    return find


def reached_code(start: Iterable[tuple[str, str]], find: Callable[[str], Found | None],
                 extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The source of every definition reached from ``start``, by ``"module:name"``.

    Parameters
    ----------
    start:
        ``(module, name)`` pairs to begin with (``name`` may be ``WHOLE``).
    find:
        Finds local modules (see ``local_module_finder``).
    extra:
        Pseudo-modules by name (a notebook's code cells), searched before ``find``.
    """
    modules: dict[str, _Module | None] = {}

    def module(name: str) -> _Module | None:
        if name not in modules:
            if extra and name in extra:
                modules[name] = _Module.of(name, extra[name], package=False)
            else:
                found = find(name)
                modules[name] = _Module.of(name, *found) if found else None
        return modules[name]

    reached: dict[str, str] = {}
    pending = list(start)
    seen: set[tuple[str, str]] = set()
    while pending:
        name, attr = pending.pop()
        if (name, attr) in seen:
            continue
        seen.add((name, attr))
        found = module(name)
        if found is None:
            continue
        if found.body:
            reached.setdefault(f"{name}:<module>", found.body)
        if attr == WHOLE:
            reached[f"{name}:{WHOLE}"] = found.source
            pending.extend(found.follow(found.all_reads, WHOLE))
        elif attr in found.definitions:
            node_source, reads = found.definitions[attr]
            reached[f"{name}:{attr}"] = node_source
            pending.extend(found.follow(reads, attr))
        elif attr in found.imports:
            pending.append(found.imports[attr])
        elif module(f"{name}.{attr}") is not None:  # a submodule: ``from pkg import mod``
            pending.append((f"{name}.{attr}", WHOLE))
        else:  # a name the module makes some other way (star import, setattr): all of it
            pending.append((name, WHOLE))
    return reached


@dataclass
class _Module:
    """One module's top level: definitions with the global names each reads, and imports."""

    name: str
    source: str
    definitions: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # alias -> (mod, name)
    body: str = ""  # top-level code that is neither a definition nor an import
    all_reads: set[str] = field(default_factory=set)
    # definition -> the imports inside it (alias -> (module, name))
    local_imports: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, source: str, package: bool) -> _Module:
        found = cls(name, source)
        masked, _, opaque = mask_ipython(source)
        try:
            tree = None if opaque else parse(masked)
        except (SyntaxError, ValueError):
            tree = None
        if tree is None:
            found.body = source  # unreadable: its whole text counts
            return found
        own_package = name if package else name.rpartition(".")[0]
        body = []
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                star = _bind_imports(node, own_package, found.imports)
                if star is not None:
                    body.append(f"from {star} import *")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.definitions[node.name] = (_segment(masked, node), _reads(node))
                # ``def step(): from mylib import clean`` reaches mylib.clean as well.
                inner: dict[str, tuple[str, str]] = {}
                for child in ast.walk(node):
                    if isinstance(child, (ast.Import, ast.ImportFrom)):
                        _bind_imports(child, own_package, inner)
                if inner:
                    found.local_imports[node.name] = inner
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
                for target in names:
                    previous = found.definitions.get(target, ("", set()))
                    found.definitions[target] = (previous[0] + _segment(masked, node),
                                                 previous[1] | _reads(node))
            elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
                body.append(_segment(masked, node))
        found.body = "\n".join(body)
        found.all_reads = _reads(tree)
        return found

    def follow(self, reads: set[str], within: str | None = None) -> list[tuple[str, str]]:
        """The (module, name) pairs that the names in ``reads`` lead to: the global ones,
        and those the definition ``within`` imports itself (``WHOLE``: any definition)."""
        if within == WHOLE:
            local = {k: v for imports in self.local_imports.values() for k, v in imports.items()}
        else:
            local = self.local_imports.get(within or "", {})
        pairs = []
        for read in reads:
            head, _, rest = read.partition(".")
            if head in local:  # inside the definition, its own import shadows the globals
                module, name = local[head]
            elif head in self.definitions:
                pairs.append((self.name, head))
                continue
            elif head in self.imports:
                module, name = self.imports[head]
            else:
                continue
            # ``mylib.clean`` -> (mylib, clean); ``a.b.c`` -> try the longest module
            pairs.append(_attribute_target(module, rest) if name == WHOLE else (module, name))
        return pairs


def _bind_imports(node: ast.Import | ast.ImportFrom, own_package: str,
                  into: dict[str, tuple[str, str]]) -> str | None:
    """Record the names an import statement binds (alias -> (module, name)) in ``into``;
    returns the module of a star import, which binds names nobody can list."""
    star = None
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                into[alias.asname] = (alias.name, WHOLE)
            else:  # ``import a.b`` binds ``a``; attributes are followed from there
                top = alias.name.split(".")[0]
                into[top] = (top, WHOLE)
        return None
    base = _absolute(node.module or "", node.level, own_package)
    for alias in node.names:
        if base is not None and alias.name != "*":
            into[alias.asname or alias.name] = (base, alias.name)
        elif base is not None:
            star = base
    return star


def _attribute_target(module: str, rest: str) -> tuple[str, str]:
    if not rest:
        return module, WHOLE
    parts = rest.split(".")
    # ``import a`` then ``a.b.c``: the definition ``b`` of ``a`` (or submodule a.b, whose
    # lookup falls back to WHOLE in reached_code).
    return module, parts[0]


_PROCESS_CALLS = ("subprocess.", "os.system", "os.popen", "os.exec", "os.spawn",
                  "os.posix_spawn")
_SHELL_MAGICS = {"bash", "sh", "script", "system", "sx", "perl", "ruby"}


def runs_processes(sources: Iterable[str]) -> str | None:
    """Why this code may read files through another process, or None.

    Shell lines (``!cmd``), shell cell magics (``%%bash``) and process calls (``subprocess``,
    ``os.system``...) start programs whose file reads no audit hook in Python sees.
    """
    for source in sources:
        masked, magics, _ = mask_ipython(source)
        for magic in magics:
            if magic.kind == "shell" or (magic.kind in ("cell", "line")
                                         and magic.name in _SHELL_MAGICS):
                from ..lint.rules.secrets import quoted  # a token in the line stays masked

                return f"it runs shell commands ({quoted(magic.text, 40)})"
        try:
            tree = parse(masked)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = _dotted(node.func) or ""
                if called.startswith(_PROCESS_CALLS):
                    return f"it starts processes ({called})"
    return None


def _reads(node: ast.AST) -> set[str]:
    """Dotted global names read anywhere under ``node`` (``np.mean`` -> ``np.mean``)."""
    reads: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            dotted = _dotted(child)
            if dotted:
                reads.add(dotted)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            reads.add(child.id)
    return reads


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _segment(source: str, node: ast.AST) -> str:
    return (ast.get_source_segment(source, node) or ast.dump(node)) + "\n"


def _read_project_module(bases: list[Path], name: str) -> Found | None:
    if not name or not all(part.isidentifier() for part in name.split(".")):
        return None
    relative = Path(*name.split("."))
    for base in bases:
        for candidate, is_package in ((base / relative.with_suffix(".py"), False),
                                      (base / relative / "__init__.py", True)):
            try:
                if candidate.is_file():
                    return candidate.read_text(encoding="utf-8", errors="replace"), is_package
            except OSError:
                return None
    return None


def _absolute(module: str, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)
