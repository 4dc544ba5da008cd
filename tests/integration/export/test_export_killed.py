"""A killed export leaves every generated file entirely old or entirely new."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from conftest import make_notebook

from nbprod.export import ExportConfig, export
from nbprod.notebook import load

NOTEBOOKS = 12


def _write_notebooks(root, version: int) -> None:
    # Large cells make each file take a measurable time to write, so kills land mid-export.
    filler = "\n".join(f"CONSTANT_{i} = {version * 1000 + i}" for i in range(3000))
    for index in range(NOTEBOOKS):
        nb = make_notebook(
            {"source": f"{filler}\n\ndef value():\n    return {version}", "tags": ["export"]},
            {"source": f"assert value() == {version}", "tags": ["test"]},
            {"source": "a = value()", "tags": ["step:one"]},
            {"source": "b = a + 1", "tags": ["step:two"]},
        )
        (root / f"nb{index}.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")


def _expected(root) -> dict[str, str]:
    texts = {}
    for index in range(NOTEBOOKS):
        for artifact in export(load(root / f"nb{index}.ipynb"), ExportConfig(), root=root):
            texts[str(artifact.path)] = artifact.text
    return texts


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2, 1.6, 2.2])
def test_kill_minus_nine_leaves_old_or_new_files(tmp_path, delay):
    _write_notebooks(tmp_path, 1)
    command = [sys.executable, "-m", "nbprod", "export",
               *[f"nb{i}.ipynb" for i in range(NOTEBOOKS)]]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    old = _expected(tmp_path)
    _write_notebooks(tmp_path, 2)
    new = _expected(tmp_path)
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    counts = {"old": 0, "new": 0}
    for path, old_text in old.items():
        text = (tmp_path / path).read_text(encoding="utf-8")
        assert text in (old_text, new[path]), f"{path} is neither the old nor the new version"
        counts["old" if text == old_text else "new"] += 1
    assert sum(counts.values()) == len(old) == NOTEBOOKS * 4
