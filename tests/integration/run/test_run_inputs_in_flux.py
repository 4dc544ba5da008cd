"""An input changed while the run reads it is recorded as such, shown, and qualifies reproduce."""

from __future__ import annotations

import json

from nbprod.store import Store
from tests.integration.run.runhelpers import write_notebook

READ = "rows = open('data/in.csv').read().splitlines()\nprint(len(rows))"
# A subprocess appends to the file: the audit hook sees Python's opens only, so the file
# stays an input, changed behind the notebook's back (as another job would change it).
CHANGE = "import subprocess\nsubprocess.run(['sh', '-c', 'echo 9 >> data/in.csv'], check=True)"


def test_input_changed_during_the_run_marks_the_receipt(project, run_cli):
    (project / "data" / "in.csv").write_text("v\n1\n2\n", encoding="utf-8")
    nb_path = write_notebook(project, "flux.ipynb", READ, "import time\ntime.sleep(1)", CHANGE)
    result = run_cli("run", nb_path, "-q", "--output-format", "json", cwd=project)
    assert result.exit_code == 0, result.output
    receipt = json.loads(result.stdout)
    (entry,) = receipt["changed_during_run"]
    (data,) = receipt["data"]
    assert entry["path"] == "data/in.csv" and entry["hash_at_end"] == data["hash"]
    assert entry["hash_at_first_read"] and entry["hash_at_first_read"] != data["hash"]

    shown = run_cli("runs", "show", receipt["run_id"], cwd=project)
    assert "changed during the run: data/in.csv" in shown.output

    steady = write_notebook(project, "steady.ipynb", READ)
    other = run_cli("run", steady, "-q", "--output-format", "json", cwd=project)
    assert "changed_during_run" not in json.loads(other.stdout)
    diff = run_cli("runs", "diff", receipt["run_id"], json.loads(other.stdout)["run_id"],
                   cwd=project)
    assert f"{receipt['run_id']}: changed during the run: data/in.csv" in diff.output

    again = run_cli("reproduce", receipt["run_id"], "-q", cwd=project)
    assert "data/in.csv changed while a run read it" in again.output


def test_change_right_after_the_open_is_caught_from_the_files_stat(project, run_cli):
    (project / "data" / "in.csv").write_text("v\n1\n2\n", encoding="utf-8")
    nb_path = write_notebook(project, "flux.ipynb", READ + "\n" + CHANGE)
    result = run_cli("run", nb_path, "-q", "--output-format", "json", cwd=project)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["changed_during_run"]
    assert entry["path"] == "data/in.csv"


def test_unchanged_inputs_leave_no_mark(project, run_cli):
    (project / "data" / "in.csv").write_text("v\n1\n2\n", encoding="utf-8")
    nb_path = write_notebook(project, "steady.ipynb", READ, "import time\ntime.sleep(0.5)")
    result = run_cli("run", nb_path, "-q", "--output-format", "json", cwd=project)
    receipt = json.loads(result.stdout)
    assert "changed_during_run" not in receipt
    assert Store.open(project).get_run(receipt["run_id"])["data"][0]["path"] == "data/in.csv"
