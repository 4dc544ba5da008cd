"""The public API: everything in ``nbprod.__all__`` exists, and importing nbprod stays light."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import nbprod


def test_all_names_exist():
    for name in nbprod.__all__:
        assert hasattr(nbprod, name), name


def test_import_does_not_pull_heavy_dependencies():
    code = (
        "import sys, nbprod, nbprod.cli;"
        "heavy = [m for m in ('papermill', 'jupyter_server', 'distributed', 'pandas', 'IPython')"
        " if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


ARCHITECTURE = Path(__file__).parents[2] / "docs" / "architecture.md"


def _section(title: str) -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_all_is_what_the_docs_promise():
    """``docs/architecture.md`` lists the names of ``import nbprod``: no more, no fewer."""
    first_table = next(block for block in _section("Python API").split("\n\n")
                       if block.startswith("| name |"))
    documented = set()
    for row in first_table.splitlines()[2:]:
        documented |= set(re.findall(r"`(\w+)`", row.split("|")[1]))
    assert documented == set(nbprod.__all__)


def test_documented_entry_points_exist():
    """Each package entry point the docs name (``nbprod.lint.lint`` ...) is importable and
    callable, and ``lint``, ``export`` and ``run_notebook`` are among them."""
    named = re.findall(r"`(nbprod\.\w+)\.(\w+)\(", _section("Python API"))
    assert {"lint", "export", "run_notebook"} <= {name for _module, name in named}
    for module, name in named:
        assert callable(getattr(importlib.import_module(module), name)), f"{module}.{name}"
