"""Equivalence on notebooks written as people write them: suggest tags, export, then the
generated pipeline run in this process returns the values papermill's top-to-bottom run of
the notebook has in its kernel (compared with a tolerance).

The fixtures under tests/data/notebooks/export/real are untagged and carry the ordinary
habits (``%matplotlib``, ``%time``, ``%%time``, ``%timeit``, ``%load_ext autoreload``, a module
imported twice, ``df.head()``, ``plt.show()``, a lone name on the last line).
"""

from __future__ import annotations

import json
import math
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from tests.integration.export.test_export_round_trip import _import_fresh

REAL = Path(__file__).parents[2] / "data" / "notebooks" / "export" / "real"
NOTEBOOKS = sorted(p.stem for p in REAL.glob("*.ipynb"))

# Pickle, in the kernel, the values the pipeline hands between steps.
_DUMP = """
import pickle as _pickle
with open({path!r}, "wb") as _handle:
    _pickle.dump({{_n: globals()[_n] for _n in {names!r} if _n in globals()}}, _handle)
"""


def test_there_are_several_fixture_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_pipeline_values_equal_papermill_run(name, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    project = tmp_path / "project"
    project.mkdir()
    notebook = project / f"{name}.ipynb"
    shutil.copy(REAL / f"{name}.ipynb", notebook)

    suggested = run_cli("tag", "--suggest", "--write", notebook)
    assert suggested.exit_code == 0, suggested.output
    tags = [c.metadata.get("tags", []) for c in nbformat.read(notebook, as_version=4).cells]
    assert ["parameters"] in tags, "a cell of scalar settings is the parameters cell"
    exported = run_cli("export", notebook)
    assert exported.exit_code == 0, exported.output

    pipeline = json.loads((project / f"{name}_pipeline.json").read_text())
    steps = pipeline["steps"]
    assert 2 <= len(steps) <= 5, [s["name"] for s in steps]
    handed_on = sorted({n for s in steps for n in s["returns"]})
    assert handed_on, "the steps pass values to each other"

    # The generated modules import in a fresh interpreter and have no undefined names.
    python = [p.name for p in project.glob("*.py")]
    fresh = subprocess.run([sys.executable, "-c", f"import {name}_pipeline"], cwd=project,
                           capture_output=True, text=True, timeout=300,
                           env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert fresh.returncode == 0, fresh.stderr
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--ignore-noqa",
                           "--select", "F821", *python], cwd=project, capture_output=True,
                          text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout

    expected = _papermill_values(REAL / f"{name}.ipynb", tmp_path, handed_on)
    run_dir = tmp_path / "pipeline_run"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    values = _import_fresh(f"{name}_pipeline", project, monkeypatch).run()
    assert sorted(values) == handed_on
    for key in handed_on:
        _assert_close(values[key], expected[key], key)


def _papermill_values(source: Path, tmp_path: Path, names: list[str]) -> dict:
    """Run the untouched notebook plus one cell that pickles ``names``, with papermill."""
    nb = nbformat.read(source, as_version=4)
    dump = tmp_path / "notebook_values.pkl"
    nb.cells.append(nbformat.v4.new_code_cell(_DUMP.format(path=str(dump), names=names)))
    run_dir = tmp_path / "notebook_run"
    run_dir.mkdir()
    instrumented = run_dir / source.name
    nbformat.write(nb, instrumented)
    papermill.execute_notebook(str(instrumented), str(run_dir / "out.ipynb"),
                               kernel_name="python3", cwd=str(run_dir), progress_bar=False,
                               log_output=False)
    with dump.open("rb") as handle:
        return pickle.load(handle)


def _assert_close(actual, expected, where: str) -> None:
    """Equal up to floating-point tolerance, looking inside containers and objects."""
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-9)
    elif isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(actual, expected, check_exact=False, rtol=1e-9)
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray) and actual.shape == expected.shape, where
        if expected.dtype.kind in "fc":
            assert np.allclose(actual, expected, rtol=1e-9, atol=1e-12, equal_nan=True), where
        else:
            assert np.array_equal(actual, expected), where
    elif isinstance(expected, float):
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), where
    elif isinstance(expected, dict):
        assert sorted(actual, key=repr) == sorted(expected, key=repr), where
        for key in expected:
            _assert_close(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), where
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            _assert_close(left, right, f"{where}[{index}]")
    elif hasattr(expected, "__dict__") and not isinstance(expected, type):
        assert type(actual).__name__ == type(expected).__name__, where
        _assert_close(vars(actual), vars(expected), where)
    else:
        assert actual == expected, where
