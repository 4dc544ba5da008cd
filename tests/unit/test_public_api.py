"""The public API: everything in ``nbprod.__all__`` exists, and importing nbprod stays light."""

from __future__ import annotations

import subprocess
import sys

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
