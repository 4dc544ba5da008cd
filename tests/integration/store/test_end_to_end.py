"""Real notebook runs recorded in the store, then listed, diffed and verified from the CLI."""

from __future__ import annotations

import json

import nbformat
import pytest
from notebook_builder import make_notebook

pytest.importorskip("papermill")


def test_two_real_runs_are_listed_diffed_and_verified(tmp_path, run_cli, monkeypatch):
    from nbprod.run import run_notebook

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "in.csv").write_text("a,b\n1,2\n3,4\n")
    notebook = tmp_path / "nb.ipynb"
    nbformat.write(make_notebook(
        {"source": "scale: int = 2  # factor", "tags": ["parameters"]},
        "rows = open('in.csv').read().splitlines()\n"
        "with open('out.csv', 'w') as f:\n"
        "    f.write(str(len(rows) * scale))\n"
        "print(len(rows) * scale)",
    ), notebook)
    first = run_notebook(notebook, {"scale": 2})
    second = run_notebook(notebook, {"scale": 3})
    assert (first.status, second.status) == ("succeeded", "succeeded")

    monkeypatch.chdir(tmp_path)
    runs = json.loads(run_cli("runs", "list", "--output-format", "json").output)
    assert [r["run_id"] for r in runs] == [second.run_id, first.run_id]
    receipt = json.loads(run_cli("runs", "show", first.run_id, "--output-format", "json").output)
    by_path = {entry["path"]: entry for entry in receipt["data"]}
    assert by_path["in.csv"]["role"] == "input"
    assert by_path["out.csv"]["role"] == "output" and by_path["out.csv"]["stored"] is True
    assert receipt["environment"]["packages"]

    diff = json.loads(run_cli("runs", "diff", first.run_id, second.run_id,
                              "--output-format", "json").output)
    assert diff["parameters"]["changed"] == {"scale": {"a": 2, "b": 3}}
    assert [c["path"] for c in diff["data"]["changed"]] == ["out.csv"]
    assert diff["data"]["unchanged"] == 1  # in.csv: same hash, found through the stat cache
    [cell] = diff["outputs"]["cells"]
    assert cell["change"] == "changed" and cell["b"][0]["text"] == "9\n"

    result = run_cli("store", "verify", "--rehash")
    assert result.exit_code == 0, result.output
