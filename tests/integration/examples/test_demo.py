"""The README's demo: the whole story on examples/ (lint, fix, tag, export, test, run, sweep,
pipeline locally and on a loopback Dask cluster, runs diff, reproduce, store verify, serve)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.xdist_group("demo")
def test_demo_runs_the_whole_story(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NBPROD_CEILING_DIRECTORIES", None)
    work = tmp_path / "demo"
    done = subprocess.run(
        ["bash", str(REPO / "examples" / "demo.sh"), str(work)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout + done.stderr  # summaries go to stderr, results to stdout
    # Lint found the messy notebook's problems and --fix fixed some of them.
    assert "NB001" in out and "NB401" in out and "AKIA************DFGH" in out
    # Findings and the tag suggestions' previews mask the secret; only the notebook holds it.
    assert "AKIAQWERTYUIOPASDFGH" not in out
    # Export wrote the module, its tests and the pipeline, and the tests passed.
    for generated in ("wine/train.py", "tests/test_train.py", "wine/train_pipeline.json"):
        assert (work / generated).is_file(), generated
    assert "1 passed" in out
    # The sweep recorded an accuracy per run; the rerun of the pipeline was fully cached.
    assert "4 of 4 runs succeeded" in out
    assert "3 cached" in out
    assert "reproduced: run" in out and "The store is sound." in out
    runs = subprocess.run(
        [sys.executable, "-m", "nbprod", "runs", "list", "--output-format", "json"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )
    listed = json.loads(runs.stdout)
    assert {r["status"] for r in listed} == {"succeeded"}
    # Each step is reported once per pipeline run: twice run (locally, then on Dask), once cached.
    step_lines = [line.split()[:2] for line in out.splitlines()]
    assert step_lines.count(["succeeded", "load"]) == 2, out
    assert step_lines.count(["cached", "load"]) == 1, out
    # The Dask pipeline's parameter is recorded with its declared type.
    dask_run = next(r for r in listed if r["kind"] == "pipeline" and r["parameters"])
    assert dask_run["parameters"] == {"max_depth": 3}
    # The served model answered, refused a row without a column, and saw the shifted alcohol.
    assert "POST /predict (3 rows) -> (200, {'predictions': [0, 0, 0]" in out
    assert "(a row without proline) -> (422" in out
    assert "drifted: ['alcohol']" in out
    assert "features drifted: alcohol" in out
    assert "jupyter lab notebooks/train.ipynb" in done.stdout
    # The example folder itself is untouched: everything happened in the scratch copy.
    assert not (REPO / "examples" / ".nbprod").exists()
    assert not (REPO / "examples" / "wine").exists()
