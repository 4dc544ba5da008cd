"""A killed export leaves every generated file entirely old or entirely new."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.export import ExportConfig, export
from nbprod.notebook import load

NOTEBOOKS = 12  # 48 generated files


def _write_notebooks(root, version: int) -> None:
    # Large cells make each file take a measurable time to write, so kills land mid-export.
    filler = "\n".join(f"CONSTANT_{i} = {version * 1000 + i}" for i in range(400))
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


@pytest.mark.xdist_group("export-kill")
def test_kill_minus_nine_leaves_old_or_new_files(tmp_path):
    _write_notebooks(tmp_path, 1)
    command = [sys.executable, "-m", "nbprod", "export",
               *[f"nb{i}.ipynb" for i in range(NOTEBOOKS)]]
    started = time.perf_counter()
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    duration = time.perf_counter() - started
    assert first.returncode == 0, first.stderr
    old = _expected(tmp_path)
    # Kill at several points of a full export's duration (measured here, so the test adapts to
    # a loaded machine); the late ones land while files are being written.
    for version, fraction in enumerate((0.55, 0.7, 0.8, 0.9, 0.97), start=2):
        _write_notebooks(tmp_path, version)
        new = _expected(tmp_path)
        process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        current = {}
        for path, old_text in old.items():
            text = (tmp_path / path).read_text(encoding="utf-8")
            assert text in (old_text, new[path]), f"{path} is neither the old nor the new version"
            current[path] = text
        old = current  # the next round starts from whatever this one left
    assert len(old) == NOTEBOOKS * 4
