"""``nbprod runs report``: one page per run, sweep or pipeline, readable offline."""

from __future__ import annotations

import re

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.store import Store

NB_HASH = "blake3:" + "2" * 64
EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""")


def _run(store, notebook="nb/train.ipynb", *, parameters=None, status="succeeded",
         records=None, kind="run", parent=None, output=True, error=None, extra=None):
    run = store.begin_run(notebook, NB_HASH, parameters or {}, kind=kind, parent=parent)
    if output:
        nbformat.write(make_notebook(
            {"source": "# Training", "cell_type": "markdown"},
            {"source": "lr: float = 0.5  # learning rate\nepochs: int = 3",
             "tags": ["parameters"]},
            {"source": "fit(lr)", "id": "fit-cell", "outputs": [
                {"output_type": "error", "ename": "ValueError", "evalue": "lr too large",
                 "traceback": ["ValueError: lr too large"]}] if error else []},
        ), run.run_dir / "output.ipynb")
    store.finish_run(run.run_id, {
        "status": status, "kind": kind, "records": records or {},
        "environment": {"python": "3.11.7", "platform": "Linux", "packages": {
            "pandas": "2.2.2", "scikit-learn": "1.5.0", "zope": "1"}},
        "data": [{"path": "data/in.csv", "role": "input", "hash": "blake3:" + "a" * 64,
                  "bytes": 10, "profile": {"rows": 5, "columns": [{"name": "x"}]}},
                 {"path": "model.pkl", "role": "output", "hash": "blake3:" + "b" * 64}],
        "error": error, **(extra or {}),
    })
    return run.run_id


@pytest.fixture
def store(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    opened = Store.open(tmp_path)
    monkeypatch.chdir(tmp_path)
    yield opened
    opened.close()


def test_a_succeeded_run_page_has_the_receipt_and_the_notebook(store, run_cli, tmp_path):
    first = _run(store, parameters={"lr": 0.1}, records={"accuracy": 0.912345678})
    run_id = _run(store, parameters={"lr": 0.2}, records={"accuracy": 0.95})
    result = run_cli("runs", "report", run_id[:17] + run_id[17:], "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text()
    assert "SUCCEEDED" in page.upper() and run_id in page
    assert re.search(r"<code>lr</code></td><td class=\"mono\">0.2</td><td>float</td>"
                     r"<td>given</td>", page)
    assert re.search(r'class="default"><td><code>epochs</code></td><td class="mono">3</td>',
                     page)
    assert "0.95" in page and "data/in.csv" in page and "5 rows × 1 columns" in page
    assert "model.pkl" in page and "aaaaaaaaaaaa" in page
    assert "scikit-learn" in page and "zope" not in page  # key packages only
    assert "Same environment as the previous run" in page and first in page
    assert ">fit</span>" in page  # the executed notebook, rendered (highlighted) by nbconvert
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert "<script src" not in page


def test_a_failed_run_page_links_and_highlights_the_failing_cell(store, run_cli, tmp_path):
    run_id = _run(store, status="failed", error={
        "cell": 3, "cell_id": "fit-cell", "ename": "ValueError", "evalue": "lr too large"})
    assert run_cli("runs", "report", run_id).exit_code == 0
    page = (tmp_path / f"nbprod-report-{run_id}.html").read_text()
    assert '<a href="#cell-id=fit-cell">cell 3 (id fit-cell)</a>' in page
    assert "lr too large" in page
    cell = re.search(r'<div [^>]*id="cell-id=fit-cell"[^>]*>', page).group(0)
    assert "celltag_nbprod-failed" in cell, "the failing cell is not marked"


def test_a_run_without_an_executed_notebook_still_gets_a_page(store, run_cli, tmp_path):
    run_id = _run(store, status="interrupted", output=False,
                  error={"message": "the runner process ended"})
    result = run_cli("runs", "report", run_id, "-o", "-")
    assert result.exit_code == 0
    assert "No executed notebook was kept for this run" in result.output
    assert "the runner process ended" in result.output


def test_a_sweep_page_tables_and_charts_values_against_parameters(store, run_cli):
    sweep = store.begin_run("nb/train.ipynb", NB_HASH, {}, kind="sweep")
    for lr, acc in ((0.1, 0.8), (0.2, 0.9), (0.3, 0.85)):
        _run(store, parameters={"lr": lr}, records={"accuracy": acc}, parent=sweep.run_id)
    store.finish_run(sweep.run_id, {"status": "succeeded", "kind": "sweep"})
    result = run_cli("runs", "report", sweep.run_id, "-o", "-")
    assert result.exit_code == 0
    page = result.output
    assert f"nbprod sweep {sweep.run_id}" in page
    assert "3 runs: 3 succeeded" in page
    assert page.count('<circle class="point"') == 3
    assert "accuracy against lr" in page
    assert not EXTERNAL.search(page)


def test_a_pipeline_page_draws_its_dag_with_step_status(store, run_cli):
    pipeline = store.begin_run("nb/train.ipynb", NB_HASH, {}, kind="pipeline")
    load = _run(store, kind="step", parent=pipeline.run_id, output=False)
    train = _run(store, kind="step", parent=pipeline.run_id, status="failed", output=False,
                 error={"message": "boom"})
    store.finish_run(pipeline.run_id, {"status": "failed", "kind": "pipeline", "pipeline": {
        "name": "train", "steps": {
            "load": {"status": "cached", "run_id": load, "upstream": []},
            "train": {"status": "failed", "run_id": train, "upstream": ["load"]}}}})
    page = run_cli("runs", "report", pipeline.run_id, "-o", "-").output
    assert '<g class="step" data-step="load">' in page and ">cached<" in page
    assert '<line class="edge" data-from="load" data-to="train"' in page
    assert f'<a href="#run-{train}">train</a>' in page and f'id="run-{train}"' in page


def test_several_runs_on_one_page(store, run_cli):
    ids = [_run(store, parameters={"lr": lr}, records={"accuracy": lr * 2})
           for lr in (0.1, 0.2)]
    page = run_cli("runs", "report", *ids, "-o", "-").output
    assert f"nbprod runs {ids[0]} and 1 more" in page
    assert all(f'id="run-{i}"' in page for i in ids)


def test_unknown_run_exits_2_with_a_suggestion_and_writes_nothing(store, run_cli, tmp_path):
    run_id = _run(store)
    result = run_cli("runs", "report", run_id[:-1] + "x")
    assert result.exit_code == 2
    assert "did you mean" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob("nbprod-report-*"))
