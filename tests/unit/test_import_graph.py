"""The package's layers: imports between nbprod's folders only ever go down a floor.

``docs/architecture.md`` draws these floors; a change that needs an upward import belongs on
a higher floor, or the thing it imports belongs lower. Every import counts, including the
ones inside functions (deferred for start-up time, they are still dependencies).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "nbprod"

#: Bottom to top; a unit is a sub-package or a top-level module of nbprod ("nbprod" is the
#: package's own ``__init__``, its curated public API).
FLOORS: list[set[str]] = [
    {"errors", "syntax", "lean_imports", "version"},
    {"config", "distributions", "fsutil", "gitignore", "nbformat_v3", "splice",
     "template_paths"},
    {"registry", "analysis", "notebook"},
    {"lint"},
    {"params", "scaffold", "markers"},
    {"pipeline_ir", "store"},
    {"env", "export"},
    {"run"},
    {"pipeline", "serve"},
    {"report"},
    {"testing", "cli"},
    {"server", "__main__", "nbprod"},
]
FLOOR = {unit: level for level, units in enumerate(FLOORS) for unit in units}


def _unit(module: str) -> str:
    """``nbprod.run.engine`` -> ``run``; ``nbprod`` -> ``nbprod``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "nbprod"


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports() -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, file:line) for every import of one nbprod unit by
    another."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "labextension" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                # ``from .. import notebook`` imports the module ``nbprod.notebook``, while
                # ``from nbprod import __version__`` imports a name of ``nbprod`` itself.
                targets = [base] if node.module else [
                    f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base
                    for a in node.names
                ]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "nbprod" and _unit(target) != _unit(module):
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    found.append((_unit(module), _unit(target), where))
    return found


def test_every_unit_has_a_floor():
    units = {path.stem if path.is_file() else path.name
             for path in PACKAGE.iterdir()
             if (path.suffix == ".py" or (path / "__init__.py").is_file())}
    units = {"nbprod" if unit == "__init__" else unit for unit in units}
    assert units - FLOOR.keys() == set(), "give each new unit a floor here and in the docs"


def test_imports_only_go_down():
    upward = [f"{where}: {low} imports {high}" for low, high, where in _imports()
              if FLOOR[high] >= FLOOR[low]]
    assert upward == []


def test_the_scan_sees_imports():
    """The check above would pass on nothing: make sure it reads real imports."""
    edges = {(low, high) for low, high, _where in _imports()}
    assert ("cli", "lint") in edges and ("run", "params") in edges
    assert ("pipeline", "export") in edges
