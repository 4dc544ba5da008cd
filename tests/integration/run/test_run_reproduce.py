"""``nbprod reproduce``: a deterministic notebook reproduces; changed data names the cell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.integration.run.runhelpers import write_notebook

CELLS = [
    {"source": "scale: float = 1.0", "tags": ["parameters"]},
    "import csv, datetime\nrows = list(csv.DictReader(open('data/in.csv')))",
    "class Model: pass\nprint(Model(), datetime.datetime.now().isoformat())",
    "values = [float(r['v']) * scale for r in rows]\nprint('mean', sum(values) / len(values))",
    "print('rows', len(rows))",
]


def test_reproduce_matches_then_reports_changed_data(project, run_cli):
    (project / "data" / "in.csv").write_text("v\n1\n2\n3\n", encoding="utf-8")
    nb_path = write_notebook(project, "stats.ipynb", *CELLS)
    first = run_cli("run", nb_path, "-p", "scale", "2", "--output-format", "json", cwd=project)
    assert first.exit_code == 0, first.output
    run_id = json.loads(first.stdout)["run_id"]

    # The notebook on disk changes; reproduce still runs the recorded version.
    write_notebook(project, "stats.ipynb", *CELLS[:-1], "print('edited')")
    same = run_cli("reproduce", run_id[:12], cwd=project)
    assert same.exit_code == 0, same.output
    assert f"matches run {run_id}" in same.stdout
    assert "changed since the run; running the recorded version" in same.stderr

    (project / "data" / "in.csv").write_text("v\n1\n2\n4\n", encoding="utf-8")
    changed = run_cli("reproduce", run_id, "--output-format", "json", cwd=project)
    assert changed.exit_code == 1, changed.output
    report = json.loads(changed.stdout)
    assert report["reproduced"] is False
    assert [d["path"] for d in report["data"]["changed"]] == ["data/in.csv"]
    difference = report["difference"]
    assert (difference["cell"], difference["cell_id"]) == (4, "c4")
    assert "mean 4.0" in difference["expected"] and "mean 4.666" in difference["actual"]

    text = run_cli("reproduce", run_id, "--rtol", "0.5", cwd=project)
    assert text.exit_code == 0, text.output  # within a loose tolerance, the rows count matches
    assert "data: data/in.csv changed since the run" in text.stderr

    # -p gives redacted values only: another value for a recorded parameter is not the run.
    runs_before = run_cli("runs", "list", "--output-format", "json", cwd=project).stdout
    other = run_cli("reproduce", run_id, "-p", "scale", "3", cwd=project)
    assert other.exit_code == 2
    assert (f"error: run {run_id}: parameter 'scale' was recorded (2.0), and a reproduction"
            " runs with the recorded values") in other.stderr
    unknown = run_cli("reproduce", run_id, "-p", "sclae", "3", cwd=project)
    assert unknown.exit_code == 2
    assert f"run {run_id} has no parameter 'sclae'" in unknown.stderr
    assert run_cli("runs", "list", "--output-format", "json", cwd=project).stdout == runs_before


def test_an_interrupted_reproduction_says_so_not_that_the_run_differs(project, run_cli):
    nb_path = write_notebook(project, "nap.ipynb", (
        "import os, time\nif os.path.exists('slow'):\n"
        "    open('started', 'w').close()\n    time.sleep(60)\nprint('done')"))
    first = run_cli("run", nb_path, "--output-format", "json", cwd=project)
    assert first.exit_code == 0, first.output
    run_id = json.loads(first.stdout)["run_id"]
    (project / "slow").touch()
    job = subprocess.Popen([sys.executable, "-m", "nbprod", "reproduce", run_id, "-q"],
                           cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env={**os.environ, "NBPROD_LIFELINE": ""})
    try:
        deadline = time.monotonic() + 60
        while not (project / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        job.send_signal(signal.SIGINT)
        out, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    assert job.returncode == 3, (out, err)
    assert f"error: the reproduction of run {run_id} was interrupted" in err, err
    assert "does not reproduce" not in err
