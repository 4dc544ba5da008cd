"""Spotting values that cannot cross a step boundary: open files, sockets, connections, locks,
generators and lambdas.

Steps run in separate processes (Dask workers), so what one step returns is pickled. A file
handle or a lock fails there, late and far from the cell that made it; nbprod finds the
assignment statically and reports it before writing anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis import dotted
from ..analysis import import_aliases as analysis_import_aliases

__all__ = ["describe", "generator_functions", "import_aliases", "unserialisable_bindings"]

_FILE_CALLS = {
    "open", "io.open", "builtins.open", "gzip.open", "bz2.open", "lzma.open", "codecs.open",
    "tarfile.open", "zipfile.ZipFile", "tempfile.TemporaryFile", "tempfile.NamedTemporaryFile",
    "tempfile.SpooledTemporaryFile", "os.popen", "subprocess.Popen",
}
_SOCKET_CALLS = {
    "socket.socket", "socket.create_connection", "socket.create_server", "socket.socketpair",
    "socket.fromfd",
}
_CONNECTION_CALLS = {"sqlalchemy.create_engine", "http.client.HTTPConnection",
                     "http.client.HTTPSConnection", "ftplib.FTP", "smtplib.SMTP"}
_LOCK_NAMES = {"Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier"}
_LOCK_MODULES = {"threading", "multiprocessing", "asyncio", "multiprocessing.synchronize"}


def import_aliases(trees: list[ast.Module]) -> dict[str, str]:
    """Local name -> dotted origin for every import in ``trees`` (``np`` -> ``numpy``)."""
    return analysis_import_aliases(node for tree in trees for node in ast.walk(tree))


def generator_functions(trees: list[ast.Module]) -> set[str]:
    """Names of top-level functions whose body yields: calling them makes a generator."""
    found: set[str] = set()
    for tree in trees:
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef) and _yields(stmt):
                found.add(stmt.name)
    return found


def _yields(func: ast.FunctionDef) -> bool:
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def describe(value: ast.AST, aliases: dict[str, str], generators: set[str],
             known: dict[str, str]) -> str | None:
    """What unserialisable thing ``value`` makes ("an open file"), or None if nothing known."""
    if isinstance(value, ast.Lambda):
        return "a lambda"
    if isinstance(value, ast.GeneratorExp):
        return "a generator"
    if isinstance(value, ast.Name):
        return known.get(value.id)
    if not isinstance(value, ast.Call):
        return None
    if isinstance(value.func, ast.Attribute) and value.func.attr == "open":
        return "an open file"
    name = dotted(value.func)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    origin = aliases.get(head, head) + (f".{rest}" if rest else "")
    if origin in _FILE_CALLS:
        return "an open file"
    if origin in _SOCKET_CALLS:
        return "a socket"
    if origin in _CONNECTION_CALLS or origin.endswith(".connect") or origin == "connect":
        return "a connection"
    module, _, last = origin.rpartition(".")
    if last in _LOCK_NAMES and module in _LOCK_MODULES:
        return "a lock"
    if name in generators and "." not in name:
        return "a generator"
    return None


def unserialisable_bindings(trees: list[ast.Module], aliases: dict[str, str],
                            generators: set[str]) -> dict[str, tuple[int, str, str, int]]:
    """Names whose last top-level binding in ``trees`` (the cells of one step, in order) is an
    unserialisable value: name -> (tree position, what, expression, line)."""
    known: dict[str, str] = {}
    found: dict[str, tuple[int, str, str, int]] = {}
    for position, tree in enumerate(trees):
        for stmt in _top_level_statements(tree.body):
            pairs: list[tuple[ast.AST, ast.AST]] = []
            if isinstance(stmt, ast.Assign):
                pairs = [(target, stmt.value) for target in stmt.targets]
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                pairs = [(stmt.target, stmt.value)]
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                pairs = [(item.optional_vars, item.context_expr) for item in stmt.items
                         if item.optional_vars is not None]
            for target, value in pairs:
                if not isinstance(target, ast.Name):
                    continue
                what = describe(value, aliases, generators, known)
                if what is None:
                    known.pop(target.id, None)
                    found.pop(target.id, None)
                    continue
                known[target.id] = what
                expression = ast.unparse(value)
                if len(expression) > 60:
                    expression = expression[:57] + "..."
                found[target.id] = (position, what, expression, stmt.lineno)
    return found


def _top_level_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements at module scope, including those nested in if/for/while/try/with blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _top_level_statements(inner)
        for handler in getattr(stmt, "handlers", []) or []:
            yield from _top_level_statements(handler.body)
