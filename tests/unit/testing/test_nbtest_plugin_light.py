"""The pytest plugin loads in every pytest run, so it must stay light and inert."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_plugin_loads_no_kernel_machinery():
    code = (
        "import sys, nbprod.testing.plugin\n"
        "names = ('nbclient', 'jupyter_client', 'zmq', 'papermill')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_plugin_is_registered_as_a_pytest11_entry_point():
    from importlib.metadata import entry_points

    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("nbprod") == "nbprod.testing.plugin"
