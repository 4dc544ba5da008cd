"""The local executor (in process, on threads, and a LocalCluster on 127.0.0.1) and the cache,
for real."""

from __future__ import annotations

import json
import os
import pickle

import pytest

from nbprod.config import load_project_config
from nbprod.pipeline.build import build_pipeline
from nbprod.pipeline.config import load_pipeline_config
from nbprod.pipeline.executors import LocalExecutor
from nbprod.pipeline.orchestrate import PipelineRunner, run_pipeline
from nbprod.pipeline.plan import plan_pipeline
from nbprod.pipeline.sweep import check_points, run_sweep
from nbprod.pipeline.worker import StepTask
from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import write_notebook


def _plan(root, notebook=None, **overrides):
    project = load_project_config(root)
    source = build_pipeline(project, load_pipeline_config(project), notebook)
    return source, plan_pipeline(source.pipeline, root=root, overrides=overrides)


def test_local_cluster_listens_on_loopback_only(tmp_path):
    executor = LocalExecutor(max_parallel=2)
    with executor:
        future = executor.submit(StepTask("probe", str(tmp_path), function="os:getpid"))
        [(_, result)] = executor.wait_any([future])
        info = executor.client.scheduler_info()
        assert info["address"].startswith("tcp://127.0.0.1:")
        assert len(info["workers"]) == min(2, os.cpu_count() or 1)  # no more than cores
        assert all(address.startswith("tcp://127.0.0.1:") for address in info["workers"])
        assert executor._cluster.scheduler.http_server is None or all(
            sock.getsockname()[0] == "127.0.0.1"
            for sock in executor._cluster.scheduler.http_server._sockets.values())
    assert result.status == "succeeded"
    assert executor.client is None  # closed on exit


def test_sweep_on_local_threads(sweep_project):
    notebook = sweep_project / "train.ipynb"
    points = check_points(notebook.read_bytes(), "train.ipynb",
                          [{"lr": "0.5", "depth": "2"}, {"lr": "1.5", "depth": "2"}],
                          texts=frozenset({"lr", "depth"}))
    assert points == [{"lr": 0.5, "depth": 2}, {"lr": 1.5, "depth": 2}]
    store = open_project_store(sweep_project)
    result = run_sweep(notebook, points, LocalExecutor(max_parallel=2), root=sweep_project,
                       store=store)
    assert [r.status for r in result.runs] == ["succeeded", "succeeded"], [
        r.error for r in result.runs
    ]
    assert [r.records for r in result.runs] == [{"score": 1.0}, {"score": 3.0}]
    assert result.exit_code == 0
    assert store.get_run(result.sweep_id)["kind"] == "sweep"


def test_a_dying_kernel_fails_only_its_own_run(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"demo\"\n")
    notebook = write_notebook(
        tmp_path / "fragile.ipynb",
        {"source": "n: int = 0", "tags": ["parameters"]},
        "import os\nif n == 2:\n    os._exit(1)",
        "import nbprod\nnbprod.record('n', n)",
    )
    store = open_project_store(tmp_path)
    executor = LocalExecutor(max_parallel=3)
    result = run_sweep(notebook, [{"n": 1}, {"n": 2}, {"n": 3}], executor, root=tmp_path,
                       store=store)
    assert [r.status for r in result.runs] == ["succeeded", "kernel_died", "succeeded"]
    assert [r.records for r in result.runs] == [{"n": 1}, {}, {"n": 3}]
    assert executor.client is None  # notebook runs need no cluster
    # The runs ran on threads of this process: their kernels were the only new processes.
    workers = {store.get_run(r.run_id)["worker"] for r in result.runs}
    assert {worker.rsplit(":", 1)[1] for worker in workers} == {str(os.getpid())}


def test_unknown_sweep_parameter_is_refused_before_running(sweep_project, run_cli):
    result = run_cli("sweep", sweep_project / "train.ipynb", "-p", "lrr", "0.1,0.2")
    assert result.exit_code == 2
    assert "unknown parameter 'lrr'" in result.output and "did you mean 'lr'" in result.output
    assert not (sweep_project / ".nbprod" / "runs").exists() or not any(
        (sweep_project / ".nbprod" / "runs").iterdir())


def test_no_change_rerun_is_cached_and_changes_are_explained(notebook_pipeline):
    root = notebook_pipeline
    store = open_project_store(root)
    source, plan = _plan(root)
    first = run_pipeline(plan, source, LocalExecutor(max_parallel=1), root=root, store=store)
    assert first.ok
    runner = PipelineRunner(plan, source, root=root, store=store)
    assert all(state.cached for state in runner.status().values())
    again = run_pipeline(plan, source, LocalExecutor(max_parallel=1), root=root, store=store)
    assert {o.status for o in again.outcomes.values()} == {"cached"}

    # A deleted output comes back from the store; nothing runs.
    (root / "data" / "clean.txt").unlink()
    restored = run_pipeline(plan, source, LocalExecutor(max_parallel=1), root=root,
                            store=store)
    assert {o.status for o in restored.outcomes.values()} == {"cached"}
    assert (root / "data" / "clean.txt").read_text() == "A B C\n"

    # A changed input re-runs its step and, through the key chain, everything downstream.
    (root / "raw.txt").write_text("a b c d\n")
    states = PipelineRunner(plan, source, root=root, store=store).status()
    assert states["prepare"].reason == "input raw.txt changed"
    assert states["train"].reason == "upstream step 'prepare' will run"

    # A parameter of one step re-runs that step only.
    (root / "raw.txt").write_text("a b c\n")
    _, scaled = _plan(root, scale="2")
    states = PipelineRunner(scaled, source, root=root, store=store).status()
    assert states["prepare"].cached
    assert states["train"].reason == "parameters changed"


def test_function_steps_in_process_with_cli(step_notebook, run_cli):
    notebook = step_notebook(bad_code="oops = total * 2")
    root = notebook.parent
    result = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "--output-format",
                     "json", cwd=root)
    assert result.exit_code == 0, result.output
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    assert {s["status"] for s in steps.values()} == {"succeeded"}
    store = open_project_store(root)
    bad = store.get_run(steps["bad"]["run_id"])
    value = pickle.loads(store.objects.path_for(bad["pipeline"]["values"]["oops"]).read_bytes())
    assert value == sum(range(4)) * 2  # handed on to "after", and kept for the cache

    result = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "-p", "n", "5",
                     "--output-format", "json", cwd=root)
    steps = {s["name"]: s["status"] for s in json.loads(result.stdout)["steps"]}
    assert steps == {"load": "succeeded", "good": "succeeded", "bad": "succeeded",
                     "after": "succeeded"}
    result = run_cli("pipeline", "run", notebook, "--only", "after", "--max-parallel", "1",
                     "--output-format", "json", cwd=root)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"][-1]["status"] == "cached"
    result = run_cli("pipeline", "status", notebook, cwd=root)
    assert result.exit_code == 0
    assert "cached (run " in result.output

    result = run_cli("pipeline", "run", notebook, "--only", "after", "--force",
                     "--max-parallel", "1", "-p", "n", "9", cwd=root)
    assert result.exit_code == 2
    assert "has no cached run" in result.output


def test_pipeline_text_output_names_each_step_once_with_typed_parameters(step_notebook,
                                                                         run_cli):
    notebook = step_notebook(bad_code="oops = total * 2")
    root = notebook.parent
    result = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "-p", "n", "5",
                     cwd=root)
    assert result.exit_code == 0, result.output
    for step in ("load", "good", "bad", "after"):
        lines = [line for line in result.output.splitlines()
                 if line.split()[:2] == ["succeeded", step]]
        assert len(lines) == 1, result.output
    store = open_project_store(root)
    pipeline_run = store.list_runs(kind="pipeline")[0]
    receipt = store.get_run(pipeline_run["run_id"])
    assert receipt["parameters"] == {"n": 5}  # the int the steps got, not the text "5"
    assert store.get_run(receipt["pipeline"]["steps"]["load"]["run_id"])["parameters"]["n"] == 5


@pytest.mark.parametrize("fmt", ["text", "csv"])
def test_sweep_cli_summary_formats(sweep_project, run_cli, fmt):
    result = run_cli("sweep", sweep_project / "train.ipynb", "-p", "depth", "2,99",
                     "--max-parallel", "1", "--output-format", fmt)
    assert result.exit_code == 1
    if fmt == "csv":
        lines = result.stdout.splitlines()
        assert lines[0] == "run,depth,score,status,run_id,error"
        assert lines[1].startswith("1,2,0.2,succeeded,")
        assert "ValueError: depth 99 is too deep" in lines[2]
    else:
        assert "score" in result.stdout and "succeeded" in result.stdout
    assert "1 of 2 runs succeeded" in result.stderr


def test_sweep_report_charts_the_recorded_values_and_names_the_failure(sweep_project, run_cli):
    result = run_cli("sweep", sweep_project / "train.ipynb", "-p", "depth", "2,4,99",
                     "--max-parallel", "2", "--report", "sweep.html", cwd=sweep_project)
    assert result.exit_code == 1, result.output
    page = (sweep_project / "sweep.html").read_text()
    assert "3 runs: 1 failed, 2 succeeded" in page
    assert page.count('<circle class="point"') == 2  # the failed run recorded no score
    assert "score against depth" in page
    assert "ValueError" in page and "depth 99 is too deep" in page
