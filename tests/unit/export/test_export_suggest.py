"""``nbprod tag --suggest``: proposals, the table, and --write touching only tags."""

from __future__ import annotations

import json

import nbformat
from notebook_builder import make_notebook

from nbprod.export.suggest import suggest_tags
from nbprod.notebook import loads


def _suggest(*cells):
    nb = loads(nbformat.writes(make_notebook(*cells)), path="nb.ipynb")
    return [(s.cell, s.tag) for s in suggest_tags(nb)]


def test_the_four_rules():
    assert _suggest(
        "import os\n\ndef f(x):\n    return x + 1",
        "alpha = 0.5\nname = 'run'",
        "beta = 2",
        "assert f(1) == 2",
        {"cell_type": "markdown", "source": "## Load the Data"},
        "data = [f(i) for i in range(3)]",
        {"cell_type": "markdown", "source": "# Report"},
        "print(data, alpha)",
    ) == [(1, "export"), (2, "parameters"), (3, "step:main"), (4, "test"),
          (6, "step:load-the-data"), (8, "step:report")]


def test_tagged_cells_are_left_alone():
    assert _suggest({"source": "import os", "tags": ["skip"]},
                    {"source": "x = 1", "tags": ["parameters"]},
                    "#| export\ndef g():\n    pass",
                    "y = 2") == [(4, "step:main")]


def test_an_export_proposal_that_could_not_be_exported_is_demoted():
    # f reads `table`, which only a non-exported cell defines: exporting it would fail.
    assert _suggest("table = {}", "def f(k):\n    return table[k]", "assert f") == [
        (1, "parameters"), (2, "step:main"), (3, "step:main")]


def test_ipython_only_and_broken_cells_are_skipped():
    assert _suggest("%load_ext autoreload\n%autoreload 2", "!ls", "def (:", "") == [
        (1, "skip"), (2, "skip"), (3, "skip")]


def test_repeated_headings_get_distinct_steps():
    tags = _suggest({"cell_type": "markdown", "source": "## Plot"}, "print(1)",
                    {"cell_type": "markdown", "source": "## Plot"}, "print(2)")
    assert tags == [(2, "step:plot"), (4, "step:plot-2")]


def test_cli_prints_a_table_and_writes_only_with_write(notebook_factory, run_cli):
    output = {"output_type": "stream", "name": "stdout", "text": "3\n"}
    path = notebook_factory("nb.ipynb", {"source": "def f():\n    return 3", "outputs": [],
                                         "execution_count": 1},
                            {"source": "print(f())", "outputs": [output], "execution_count": 2})
    original = path.read_bytes()
    result = run_cli("tag", "--suggest", path)
    assert result.exit_code == 0
    assert "only defines functions" in result.output and "step:main" in result.output
    assert "add --write" in result.output
    assert path.read_bytes() == original

    result = run_cli("tag", "--suggest", "--write", path, "--output-format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["written"] == 2
    after = json.loads(path.read_text())
    before = json.loads(original)
    assert [c["metadata"].get("tags") for c in after["cells"]] == [["export"], ["step:main"]]
    for old, new in zip(before["cells"], after["cells"], strict=True):
        assert (old["source"], old["outputs"], old["execution_count"]) == (
            new["source"], new["outputs"], new["execution_count"])


def test_cli_lists_marks_without_suggest(notebook_factory, run_cli):
    path = notebook_factory("nb.ipynb", {"source": "#| export\nx = 1"},
                            {"source": "y = [x]", "tags": ["step:a"]})
    result = run_cli("tag", path, "--output-format", "json")
    rows = json.loads(result.output)
    assert [r["marks"] for r in rows] == [["export"], ["step:a"]]
    assert run_cli("tag", "--write", path).exit_code == 2
