"""Sweeps and pipelines on a real Dask cluster: a scheduler and two workers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pickle
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from nbprod.config import load_project_config
from nbprod.pipeline.build import build_pipeline
from nbprod.pipeline.config import load_pipeline_config
from nbprod.pipeline.executors import DaskExecutor
from nbprod.pipeline.orchestrate import run_pipeline
from nbprod.pipeline.plan import plan_pipeline
from nbprod.store import open_project_store

pytestmark = pytest.mark.xdist_group("pipeline-dask")


def _plan(root, notebook=None, **overrides):
    project = load_project_config(root)
    source = build_pipeline(project, load_pipeline_config(project), notebook)
    return source, plan_pipeline(source.pipeline, root=root, overrides=overrides)


def test_sweep_on_the_cluster(dask_cluster, sweep_project, run_cli):
    address, _ = dask_cluster
    result = run_cli("sweep", sweep_project / "train.ipynb", "-p", "lr", "0.5,1.0",
                     "-p", "depth", "2,99", "--executor", "dask", "--cluster", address,
                     "--output-format", "json")
    assert result.exit_code == 1, result.output
    table = json.loads(result.stdout)
    assert [(r["lr"], r["depth"], r["status"]) for r in table["runs"]] == [
        (0.5, 2, "succeeded"), (0.5, 99, "failed"), (1.0, 2, "succeeded"), (1.0, 99, "failed")]
    assert [r["score"] for r in table["runs"] if r["status"] == "succeeded"] == [1.0, 2.0]
    failed = [r for r in table["runs"] if r["status"] == "failed"]
    assert all("ValueError: depth 99 is too deep" in r["error"] for r in failed)
    store = open_project_store(sweep_project)
    runs = store.list_runs(kind="run", parent=table["sweep_id"])
    assert len(runs) == 4
    receipt = store.get_run(failed[0]["run_id"])
    assert receipt["error"]["ename"] == "ValueError"
    assert (store.run_dir(failed[0]["run_id"]) / "output.ipynb").is_file()
    # Workers never wrote the project store: every run in it was recorded by this process.
    assert {r["pid"] for r in runs} == {os.getpid()}


def test_notebook_pipeline_on_the_cluster_then_cached(dask_cluster, notebook_pipeline):
    address, _ = dask_cluster
    root = notebook_pipeline
    store = open_project_store(root)
    source, plan = _plan(root)
    result = run_pipeline(plan, source, DaskExecutor(cluster=address), root=root, store=store)
    assert result.ok, result.outcomes
    assert (root / "data" / "clean.txt").read_text() == "A B C\n"
    train = store.get_run(result.outcomes["train"].run_id)
    assert train["records"] == {"words": 3}
    assert train["parent"] == result.run_id
    again = run_pipeline(plan, source, DaskExecutor(cluster=address), root=root, store=store)
    assert {o.status for o in again.outcomes.values()} == {"cached"}


def test_failed_step_stops_its_downstream_only(dask_cluster, step_notebook):
    address, _ = dask_cluster
    notebook = step_notebook()
    root = notebook.parent
    source, plan = _plan(root, notebook)
    result = run_pipeline(plan, source, DaskExecutor(cluster=address), root=root,
                          store=open_project_store(root))
    status = {n: o.status for n, o in result.outcomes.items()}
    assert status == {"load": "succeeded", "good": "succeeded", "bad": "failed",
                      "after": "skipped"}
    assert "ZeroDivisionError" in result.outcomes["bad"].message
    assert result.exit_code == 1
    receipt = open_project_store(root).get_run(result.outcomes["bad"].run_id)
    assert receipt["error"]["ename"] == "ZeroDivisionError"
    assert "Traceback" in receipt["error"]["traceback"]


def test_killed_worker_is_retried_and_the_pipeline_completes(dask_cluster, tmp_path,
                                                               notebook_writer):
    address, _ = dask_cluster
    # The workers cannot see tmp_path (no shared disk): the test and the step meet in a
    # folder outside it, which both can see.
    meeting = Path(tempfile.mkdtemp(prefix="nbprod-kill-"))
    marker = meeting / "attempts.txt"
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"killer\"\n")
    notebook = notebook_writer(
        tmp_path / "slow.ipynb",
        {"source": "marker: str = ''", "tags": ["parameters"]},
        {"source": "import os\nimport time\nwith open(marker, 'a') as handle:\n"
                   "    handle.write(f'{os.getpid()}\\n')\n"
                   "attempts = open(marker).read().split()\n"
                   "if len(attempts) == 1:\n    time.sleep(120)\ntries = len(attempts)",
         "tags": ["step:slow"]},
        {"source": "answer = tries * 10", "tags": ["step:done"]},
    )
    source, plan = _plan(tmp_path, notebook, marker=str(marker))
    store = open_project_store(tmp_path)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("result", run_pipeline(
        plan, source, DaskExecutor(cluster=address, retries=2), root=tmp_path, store=store)))
    thread.start()
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    first_pid = int(marker.read_text().split()[0])
    assert first_pid != os.getpid()
    os.kill(first_pid, signal.SIGKILL)  # the worker process itself, mid-step
    thread.join(timeout=120)
    assert not thread.is_alive()
    result = outcome["result"]
    assert {n: o.status for n, o in result.outcomes.items()} == {
        "slow": "succeeded", "done": "succeeded"}
    attempts = marker.read_text().split()
    assert len(attempts) == 2 and attempts[1] != attempts[0]
    slow = store.get_run(result.outcomes["slow"].run_id)
    assert slow["pipeline"]["worker"].endswith(f":{attempts[1]}")


def test_function_steps_on_workers_that_cannot_see_the_project(dask_cluster, tmp_path,
                                                               notebook_writer):
    """The workers run with the client's folders hidden: what a step reads travels with it
    (the file its parameter names, then the files it was seen reading), what it writes
    comes back, and its receipt lands in the client's store."""
    address, _ = dask_cluster
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"far\"\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.txt").write_text("a\nb\nc\n")
    notebook = notebook_writer(
        tmp_path / "notebooks" / "far.ipynb",
        {"source": "path: str = '../data/rows.txt'", "tags": ["parameters"]},
        {"source": "import os\nsees_client = os.path.isdir(" + repr(str(tmp_path)) + ")\n"
                   "rows = open(path).read().split()", "tags": ["step:load"]},
        {"source": "count = -1 if sees_client else len(rows)\n"
                   "open('count.txt', 'w').write(str(count))",
         "tags": ["step:count"]},
    )
    source, plan = _plan(tmp_path, notebook)
    store = open_project_store(tmp_path)
    result = run_pipeline(plan, source, DaskExecutor(cluster=address), root=tmp_path,
                          store=store)
    assert {n: o.status for n, o in result.outcomes.items()} == {
        "load": "succeeded", "count": "succeeded"}, result.outcomes
    load = store.get_run(result.outcomes["load"].run_id)
    assert pickle.loads(store.objects.path_for(
        load["pipeline"]["values"]["sees_client"]).read_bytes()) is False  # really apart
    assert [e["path"] for e in load["data"]] == ["data/rows.txt"]
    assert (tmp_path / "notebooks" / "count.txt").read_text() == "3"  # brought back
    assert load["pipeline"]["worker"].split(":")[1] != str(os.getpid())

    again = run_pipeline(plan, source, DaskExecutor(cluster=address), root=tmp_path,
                         store=store)
    assert {o.status for o in again.outcomes.values()} == {"cached"}
    (tmp_path / "data" / "rows.txt").write_text("a\nb\nc\nd\n")
    source, plan = _plan(tmp_path, notebook)
    changed = run_pipeline(plan, source, DaskExecutor(cluster=address), root=tmp_path,
                           store=store)
    assert {n: o.status for n, o in changed.outcomes.items()} == {
        "load": "succeeded", "count": "succeeded"}
    assert (tmp_path / "notebooks" / "count.txt").read_text() == "4"


def test_records_and_models_of_function_steps_come_back_from_the_cluster(dask_cluster,
                                                                         tmp_path, run_cli):
    """The workers cannot see the project: what a step gave nbprod.record and
    nbprod.record_model travels back with its result into the client's store."""
    from tests.integration.pipeline.test_step_records import check_evaluate, write_project

    address, _ = dask_cluster
    notebook = write_project(tmp_path)
    result = run_cli("pipeline", "run", notebook, "--executor", "dask", "--cluster", address,
                     "--output-format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    receipt = check_evaluate(tmp_path, steps)  # model.pkl was brought back, too
    assert receipt["pipeline"]["worker"].split(":")[1] != str(os.getpid())
    listed = run_cli("models", "list", "--output-format", "json", cwd=tmp_path)
    assert [m["run_id"] for m in json.loads(listed.stdout) if m["name"] == "clf"] == [
        steps["evaluate"]["run_id"]]
