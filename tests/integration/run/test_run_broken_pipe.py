"""A reader that goes away (`nbprod run nb.ipynb 2>&1 | head -1`) never changes a run."""

from __future__ import annotations

import json
import subprocess

from nbprod.store import Store
from tests.integration.run.runhelpers import child_env, nbprod_command, write_notebook

CELLS = [
    "import time\ntime.sleep(0.5)",  # the reader is gone before the next progress line
    "x = 41",
    "print(x + 1)",
]


def _run_with_closed_pipe(project, *args) -> int:
    """Run nbprod with stdout and stderr on one pipe, closed after the first line (head -1)."""
    proc = subprocess.Popen(
        [*nbprod_command(), *args], cwd=project, env=child_env(project),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    first = proc.stdout.readline()
    assert first, "nbprod printed nothing"
    proc.stdout.close()
    return proc.wait(timeout=120)


def test_closed_pipe_lets_the_run_finish_and_be_recorded(project, run_cli):
    nb_path = write_notebook(project, "nb.ipynb", *CELLS)
    code = _run_with_closed_pipe(project, "run", str(nb_path))
    assert code == 0  # the run's own outcome, with no traceback or noise anywhere
    store = Store.open(project)
    (run,) = store.list_runs()
    receipt = store.read_receipt(run["run_id"])
    assert receipt["status"] == "succeeded", receipt.get("error")
    assert receipt["environment"].get("python")
    assert [c["status"] for c in receipt["timing"]["cells"]] == ["succeeded"] * 3

    again = run_cli("reproduce", run["run_id"], "--output-format", "json", cwd=project)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["reproduced"] is True


def test_closed_pipe_on_reproduce_keeps_its_verdict(project, run_cli):
    nb_path = write_notebook(project, "nb.ipynb", *CELLS)
    first = run_cli("run", nb_path, "-q", "--output-format", "json", cwd=project)
    run_id = json.loads(first.stdout)["run_id"]
    code = _run_with_closed_pipe(project, "reproduce", run_id)
    assert code == 0
    runs = Store.open(project).list_runs()
    assert sorted(r["status"] for r in runs) == ["succeeded", "succeeded"]


def test_closed_pipe_lets_a_sweep_finish_every_run(project):
    nb_path = write_notebook(project, "nb.ipynb", {"source": "x = 1", "tags": ["parameters"]},
                             "import time\ntime.sleep(0.5)", "print(x)")
    code = _run_with_closed_pipe(project, "sweep", str(nb_path), "-p", "x", "1,2,3",
                                 "--max-parallel", "1")
    assert code in (0, 1)  # 1 when the summary itself met the closed pipe: a quiet exit
    runs = Store.open(project).list_runs()
    assert sorted(r["status"] for r in runs if r["kind"] != "sweep") == ["succeeded"] * 3
