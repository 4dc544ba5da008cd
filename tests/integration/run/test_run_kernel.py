"""Runs in a real python3 kernel: parameters, data capture, records, secrets, honest status."""

from __future__ import annotations

import json
import sys
import time

import nbformat
import pytest

from nbprod.run import run_notebook
from nbprod.store import Store
from tests.integration.run.runhelpers import live_children, pid_gone, write_notebook

HOSTILE = "'); import os; os.system('touch pwned')#"
LONG = "λ" * 50_000
NESTED = '{"a": [1, 2.5, {"b": null, "c": ["é", true]}], "q": "\\"\'"}'

PARAMS = """\
from pathlib import Path
from typing import Literal
name: str = "x"  # free text
long: str = ""
nested: dict = {}
start: "date" = None
out: Path = Path("data/out.csv")
mode: Literal["fast", "slow"] = "fast"
api_token: str = ""
"""

BODY = """\
import json, nbprod, csv
with open("data/in.csv") as handle:
    rows = list(csv.DictReader(handle))
total = sum(float(r["v"]) for r in rows)
with open(out, "w") as handle:
    handle.write(f"total,{total}\\n")
nbprod.record("total", total)
nbprod.record("echo", {"name": name, "nested": nested, "long_len": len(long)})
print(json.dumps({"name": name, "nested": nested, "start": start.isoformat(), "mode": mode,
                  "long_ok": long == "λ" * 50_000}, ensure_ascii=False))
print("token is", api_token)
"""


def test_successful_run(project):
    (project / "data" / "in.csv").write_text("k,v\na,1.5\nb,2\n", encoding="utf-8")
    nb_path = write_notebook(project, "analysis.ipynb",
                             {"source": PARAMS, "tags": ["parameters"]}, BODY,
                             {"cell_type": "markdown", "source": "done"})
    before = nb_path.read_bytes()
    seen = []
    result = run_notebook(
        nb_path,
        {"name": HOSTILE, "long": LONG, "nested": NESTED, "start": "2024-02-29",
         "mode": "slow", "api_token": "tok-9f8e7d6c5b"},
        text_parameters={"name", "long", "nested", "start", "mode", "api_token"},
        progress=lambda position, total, cell: seen.append((position, total, cell.label)),
    )
    assert result.status == "succeeded", result.receipt["error"]
    assert result.exit_code == 0 and result.error is None
    assert nb_path.read_bytes() == before  # the input notebook is never modified
    assert not (project / "pwned").exists()  # the hostile value stayed a string
    assert seen == [(1, 3, "cell 1 (id 'c1')"), (2, 3, "the injected parameters cell"),
                    (3, 3, "cell 2 (id 'c2')")]

    output = nbformat.read(result.output_path, as_version=4)
    assert len(output.cells) == 4  # input cells + the injected cell; no setup cell
    printed = json.loads(output.cells[2].outputs[0]["text"].splitlines()[0])
    assert printed == {"name": HOSTILE, "nested": json.loads(NESTED), "start": "2024-02-29",
                       "mode": "slow", "long_ok": True}
    assert [c.execution_count for c in output.cells if c.cell_type == "code"] == [1, 2, 3]

    receipt = result.receipt
    assert receipt["parameters"]["name"] == HOSTILE
    assert receipt["parameters"]["api_token"] == "***"
    assert receipt["records"]["total"] == 3.5
    assert receipt["records"]["echo"] == {"name": HOSTILE, "nested": json.loads(NESTED),
                                          "long_len": 50_000}
    data = {d["path"]: d for d in receipt["data"]}
    assert set(data) == {"data/in.csv", "data/out.csv"}
    store = Store.open(project)
    assert data["data/in.csv"]["role"] == "input"
    assert data["data/in.csv"]["hash"] == store.hash_file(project / "data/in.csv")[0]
    assert data["data/in.csv"]["profile"]["columns"][1]["mean"] == 1.75
    assert data["data/out.csv"]["role"] == "output" and data["data/out.csv"]["stored"]
    assert store.objects.exists(data["data/out.csv"]["hash"])
    assert [c["status"] for c in receipt["timing"]["cells"]] == ["succeeded"] * 3
    assert all(c["duration_s"] >= 0 for c in receipt["timing"]["cells"])
    environment = receipt["environment"]
    assert environment.get("python") and environment.get("packages"), environment
    assert store.get_run(result.run_id)["status"] == "succeeded"
    # The secret value is nowhere in the store: not in the receipt, not in the output.
    for path in (project / ".nbprod").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".ipynb", ".jsonl", ".sqlite", ""):
            assert b"tok-9f8e7d6c5b" not in path.read_bytes(), path
    assert live_children() == []


SPAWN = ("import subprocess\n"
         "child = subprocess.Popen(['sleep', '120'])\n"
         "open('child.pid', 'w').write(str(child.pid))\n")

CASES = {
    "failed": (["x = 1", "raise ValueError('bad value')", "print('never')"], 1, 2),
    "kernel_died": ([SPAWN, "import os\nos._exit(1)", "print('never')"], 3, 2),
    "kernel_killed": ([SPAWN, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                       "print('never')"], 3, 2),
    "timeout": ([SPAWN, "import time\ntime.sleep(60)", "print('never')"], 3, 2),
    "incomplete": (["x = 1", "import sys\nsys.exit(0)", "print('never')", "y = 2"], 1, 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_honest_status_and_no_orphans(project, run_cli, case):
    cells, exit_code, bad_cell = CASES[case]
    nb_path = write_notebook(project, "nb.ipynb", *cells)
    began = time.monotonic()
    result = run_cli("run", nb_path, "--timeout", "3", "--output-format", "json", cwd=project)
    elapsed = time.monotonic() - began
    assert result.exit_code == exit_code, result.output
    receipt = json.loads(result.stdout)
    status = "kernel_died" if case == "kernel_killed" else case
    assert receipt["status"] == status
    error = receipt["error"]
    assert (error["cell"], error["cell_id"]) == (bad_cell, f"c{bad_cell}")
    statuses = [c["status"] for c in receipt["timing"]["cells"]]
    assert statuses[0] == "succeeded" and statuses[2:] == ["not_run"] * (len(cells) - 2)
    if case == "failed":
        assert (error["ename"], error["evalue"]) == ("ValueError", "bad value")
        assert "raise ValueError" in error["traceback"]
    if case == "incomplete":
        assert error["not_run"] == len(cells) - 2
        assert statuses[1] == "exited"
    if case == "timeout":
        assert elapsed <= 3 + 15
    # nbprod's status is also what the output notebook says (papermill would say 'completed').
    output = nbformat.read(project / receipt["run_dir"] / "output.ipynb", as_version=4)
    assert output.cells[2].metadata.papermill.status == "pending"
    assert output.metadata.nbprod.status == status
    assert live_children() == []
    spawned = project / "child.pid"
    if spawned.exists():  # the notebook's own subprocess went with the kernel's group
        assert pid_gone(int(spawned.read_text()), within=10)


def test_kernel_that_never_starts(project, run_cli, monkeypatch):
    spec_dir = project / "jupyter" / "kernels" / "broken"
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-c", "import sys; print('broken kernel start'); sys.exit(1)"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "broken", "language": "python"}),
        encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(project / "jupyter"))
    nb_path = write_notebook(project, "nb.ipynb", "print(1)")
    result = run_cli("run", nb_path, "--kernel", "broken", "--output-format", "json",
                     cwd=project)
    assert result.exit_code == 3, result.output
    receipt = json.loads(result.stdout)
    assert receipt["status"] == "kernel_died"
    assert receipt["error"]["message"] == "the kernel died or did not start before the first cell"
    assert "did not start" in receipt["error"]["evalue"]
    log = (project / receipt["run_dir"] / "kernel.log").read_text()
    assert log.count("broken kernel start") == 3  # started again: a port race is transient
    assert live_children() == []
    told = run_cli("run", nb_path, "--kernel", "broken", cwd=project)
    assert told.exit_code == 3
    pointer = "the kernel process's own output: .nbprod/runs/"
    assert pointer in told.stderr
    shown = told.stderr.split(pointer, 1)[1].split()[0]
    assert "broken kernel start" in (project / ".nbprod" / "runs" / shown).read_text()
