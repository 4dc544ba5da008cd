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
        "data = [f(i) for i in range(beta)]",
        {"cell_type": "markdown", "source": "# Report"},
        "report = {'data': data, 'alpha': alpha, 'name': name}",
    ) == [(1, "export"), (2, "parameters"), (3, "step:main"), (4, "test"),
          (6, "step:load-the-data"), (8, "step:report")]


def test_sections_merge_until_the_values_they_hand_on_are_complete():
    tags = _suggest(
        {"cell_type": "markdown", "source": "## Load"}, "rows = list(range(10))",
        {"cell_type": "markdown", "source": "## Clean"}, "rows = [r for r in rows if r % 3]",
        {"cell_type": "markdown", "source": "## Features"}, "squares = [r * r for r in rows]",
        {"cell_type": "markdown", "source": "## Total"}, "total = sum(squares)",
    )
    # 'rows' is set again under "Clean": load and clean are one step; the rest hand on
    # finished values, so each ends a step.
    assert tags == [(2, "step:load"), (4, "step:load"), (6, "step:features"), (8, "step:total")]


def test_display_and_plot_cells_are_skipped_not_steps():
    tags = _suggest("import matplotlib.pyplot as plt", "values = [1, 2, 3]", "values",
                    "plt.plot(values)\nplt.show()", "print(values)", "len(values)")
    assert tags == [(1, "export"), (2, "step:main"), (3, "skip"), (4, "skip"), (5, "skip"),
                    (6, "skip")]


def test_parameters_are_scalar_settings_never_data_literals():
    # A list is data; a string used through a method is data; a setting reassigned later
    # is a variable.
    assert _suggest("data = [1, 2, 3]", "x = sum(data)") == [(1, "step:main"), (2, "step:main")]
    assert _suggest("s = 'string'", "t = s.upper()") == [(1, "step:main"), (2, "step:main")]
    assert _suggest("n = 3", "n = n + 1", "m = n * 2") == [
        (1, "step:main"), (2, "step:main"), (3, "step:main")]
    assert _suggest("path = 'data/in.csv'\nlimit = 5\nverbose = False",
                    "rows = open(path).readlines()[:limit]\nif verbose:\n    print(rows)")[0] == (
        1, "parameters")


def test_an_assert_the_notebook_does_not_run_is_not_proposed_as_a_test():
    tags = _suggest("x = 1", "#| eval: false\nassert x == 2", "assert x == 1")
    assert tags[1:] == [(2, "skip"), (3, "test")]


def test_tagged_cells_are_left_alone():
    assert _suggest({"source": "import os", "tags": ["skip"]},
                    {"source": "x = 1", "tags": ["parameters"]},
                    "#| export\ndef g():\n    pass",
                    "y = 2") == [(4, "step:main")]


def test_an_export_proposal_that_could_not_be_exported_is_demoted():
    # f reads `table`, which only a non-exported cell defines: exporting it would fail.
    # (An empty dict is data, not a parameter.)
    assert _suggest("table = {}", "def f(k):\n    return table[k]", "assert f") == [
        (1, "step:main"), (2, "step:main"), (3, "step:main")]


def test_ipython_only_and_broken_cells_are_skipped():
    assert _suggest("%load_ext autoreload\n%autoreload 2", "!ls", "def (:", "") == [
        (1, "skip"), (2, "skip"), (3, "skip")]


def test_cells_a_step_could_not_hold_are_skipped_and_the_strict_export_passes():
    from nbprod.export import export
    from nbprod.export.config import ExportConfig
    from nbprod.export.suggest import apply_suggestions

    nb = loads(nbformat.writes(make_notebook(
        "rows = [1, 2, 3]",
        "total = sum(rows)\nprint(total)\n!head out.csv",
        "import asyncio\nawait asyncio.sleep(0)",
        "double = sum(rows) * 2",
    )), path="nb.ipynb")
    suggestions = suggest_tags(nb)
    assert [(s.cell, s.tag) for s in suggestions] == [
        (1, "step:main"), (2, "skip"), (3, "skip"), (4, "step:main")]
    assert "'!head out.csv' cannot be exported" in suggestions[1].reason
    assert "top-level await (line 2)" in suggestions[2].reason
    apply_suggestions(nb, suggestions)
    artifacts = export(nb, ExportConfig(strict=True))
    assert any(a.path.name == "nb_pipeline.py" for a in artifacts)


def test_a_cell_with_ipython_lines_stays_a_step_when_later_cells_read_its_values():
    # As a skip, `table` would be missing from the step that reads it.
    assert _suggest("table = [1]\n!ls", "total = sum(table)") == [
        (1, "step:main"), (2, "step:main")]


def test_repeated_headings_get_distinct_steps():
    tags = _suggest({"cell_type": "markdown", "source": "## Part"}, "a = 1",
                    "b = a + 1",
                    {"cell_type": "markdown", "source": "## Part"}, "c = b + 1",
                    "d = c + 1")
    assert tags == [(2, "step:part"), (3, "step:part"), (5, "step:part-2"),
                    (6, "step:part-2")]


def test_a_long_heading_makes_a_step_name_cut_between_words():
    heading = "## A list, array, Series, or Index providing the grouping keys"
    tags = _suggest({"cell_type": "markdown", "source": heading}, "a = 1", "b = a + 1")
    assert tags == [(2, "step:a-list-array-series-or-index-providing"),
                    (3, "step:a-list-array-series-or-index-providing")]


def test_the_numbering_of_a_heading_is_not_part_of_the_step_name():
    for heading, name in [("## Step 2. Load the data", "load-the-data"),
                          ("### 3.1 Clean up", "clean-up"), ("# Part II: Model", "model"),
                          ("## 4) Report", "report"), ("## 2021 sales", "2021-sales"),
                          ("## 7", "7")]:
        tags = _suggest({"cell_type": "markdown", "source": heading}, "a = 1", "b = a + 1")
        assert tags == [(2, f"step:{name}"), (3, f"step:{name}")], heading


def test_a_long_tag_is_shown_whole_and_a_long_heading_cut_between_words(notebook_factory,
                                                                          run_cli):
    import re

    heading = "## Step 2. Create the DataFrame with the following values and then some more"
    path = notebook_factory("nb.ipynb", {"cell_type": "markdown", "source": heading},
                            "data = list(range(3))", "total = sum(data)")
    table = run_cli("tag", "--suggest", path).stdout
    assert "step:create-the-dataframe-with-the-f" in table
    assert not re.search(r"step:\S*…", table)  # folded onto the next line, never cut
    (first, *_) = json.loads(run_cli("tag", "--suggest", path, "--output-format",
                                     "json").stdout)["suggestions"]
    assert first["tag"] == "step:create-the-dataframe-with-the-following"
    assert first["reason"] == "under heading 'Step 2. Create the DataFrame with the…'"


def test_cli_prints_a_table_and_writes_only_with_write(notebook_factory, run_cli):
    output = {"output_type": "stream", "name": "stdout", "text": "3\n"}
    path = notebook_factory("nb.ipynb", {"source": "def f():\n    return 3", "outputs": [],
                                         "execution_count": 1},
                            {"source": "x = f()\nprint(x)", "outputs": [output],
                             "execution_count": 2})
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


def test_a_long_first_line_is_cut_after_its_secret_is_masked(notebook_factory, run_cli):
    # The key straddles the 60th character: cut first, its first half would be shown.
    line = "client = connect(region='eu-west-1', timeout=30, key_id='AKIAQWERTYUIOPASDFGH')"
    path = notebook_factory("nb.ipynb", {"source": line})
    table = run_cli("tag", "--suggest", path).output
    suggested = json.loads(run_cli("tag", "--suggest", path, "--output-format", "json").output)
    listed = json.loads(run_cli("tag", path, "--output-format", "json").output)
    for shown in (table, suggested["suggestions"][0]["first_line"], listed[0]["first_line"]):
        assert "AKIAQW" not in shown and "key_id='AK…" in shown
    assert len(listed[0]["first_line"]) == 60


def test_a_notebook_in_another_language_gets_one_line_not_a_skip_per_cell(tmp_path, run_cli):
    nb = make_notebook({"source": "3 2 1 - 1"}, {"source": "1 - 3 2 1"})
    nb.metadata["kernelspec"] = {"name": "dyalog-kernel", "display_name": "Dyalog APL",
                                 "language": "apl"}
    nb.metadata.pop("language_info", None)  # as the APL kernel's notebooks in the wild
    path = tmp_path / "apl.ipynb"
    path.write_text(nbformat.writes(nb))
    before = path.read_bytes()
    result = run_cli("tag", "--suggest", "--write", path)
    assert result.exit_code == 0
    assert ("its language is apl (kernel 'dyalog-kernel'); only Python notebooks are given"
            " tag proposals") in result.output
    assert "does not parse" not in result.output and path.read_bytes() == before
    listed = json.loads(run_cli("tag", "--suggest", path, "--output-format", "json").stdout)
    assert listed == {"suggestions": [], "written": 0}
    # Tagged for export anyway: left alone with the same reason, not "not valid Python".
    nb.cells[0].metadata["tags"] = ["export"]
    path.write_text(nbformat.writes(nb))
    exported = run_cli("export", path)
    assert exported.exit_code == 0
    assert "its language is apl (kernel 'dyalog-kernel'); only Python notebooks are exported" in (
        exported.output)
    assert "not valid Python" not in exported.output
    assert not (tmp_path / "apl.py").exists()


def test_a_fresh_value_under_an_old_name_does_not_hold_a_step_open():
    tags = _suggest(
        {"cell_type": "markdown", "source": "## One"}, "x = [1, 2]", "total = sum(x)",
        {"cell_type": "markdown", "source": "## Two"}, "x = [5, 6]", "top = max(x) + total",
    )
    # The second section sets x afresh: the first step's x is done, its total is handed on.
    assert tags == [(2, "step:one"), (3, "step:one"), (5, "step:two"), (6, "step:two")]


def test_a_value_changed_in_place_later_keeps_the_sections_together():
    tags = _suggest(
        {"cell_type": "markdown", "source": "## Load"}, "rows = {'a': 1}",
        {"cell_type": "markdown", "source": "## Extend"}, "rows['b'] = 2",
        {"cell_type": "markdown", "source": "## Use"}, "keys = sorted(rows)",
    )
    assert tags == [(2, "step:load"), (4, "step:load"), (6, "step:use")]
