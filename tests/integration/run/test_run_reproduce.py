"""``nbprod reproduce``: a deterministic notebook reproduces; changed data names the cell."""

from __future__ import annotations

import json

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
