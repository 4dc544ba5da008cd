"""Fixtures for isolated environments: nbprod's cache, Jupyter's kernel folder and the CLI as
a subprocess, all pointed at the test's own folders.

uv's download cache is the one exception for environments from the package index: it is
shared by every pytest run on the machine (``$TMPDIR/nbprod-tests-uv-cache``, or
``UV_CACHE_DIR`` when set), so the example's wheels are downloaded once, not once per run.
uv's cache is content-addressed and safe to share. Tests that install only wheels they made
themselves (new files each run) give it a folder of their own (``uv_cache``), so the
shared one does not grow with every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

UV_CACHE = os.environ.get("UV_CACHE_DIR") or os.path.join(tempfile.gettempdir(),
                                                          "nbprod-tests-uv-cache")


class Cli:
    """``nbprod ARGS`` in a subprocess with this test's cache and Jupyter data folders."""

    def __init__(self, home: Path, uv_cache: str = UV_CACHE):
        self.cache = home / "cache"
        self.jupyter = home / "jupyter"
        self.env = {**os.environ, "NBPROD_CACHE_DIR": str(self.cache),
                    "JUPYTER_DATA_DIR": str(self.jupyter), "UV_CACHE_DIR": uv_cache,
                    # Building nbprod itself (an editable install in the environment) must
                    # not rebuild the checkout's JupyterLab extension.
                    "SKIP_JUPYTER_BUILDER": "1"}

    def __call__(self, *args, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nbprod", *map(str, args)], cwd=cwd,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def kernels(self) -> list[str]:
        folder = self.jupyter / "kernels"
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def environments(self) -> list[Path]:
        folder = self.cache / "envs"
        return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Cli:
    return Cli(tmp_path_factory.mktemp("isolated"))
