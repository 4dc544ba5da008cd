"""Ruff's rules through nbprod: real ruff, findings mapped to cells, no magic false positives."""

from __future__ import annotations

import json

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint import LintConfig, lint_paths
from nbprod.lint.ruff import SYNTAX_ERROR_CODE, apply_ruff_fixes, check_text
from nbprod.lint.rule import Applicability, Diagnostic, Severity
from nbprod.notebook import load

MD = {"cell_type": "markdown", "source": "# Title"}
RAW = {"cell_type": "raw", "source": "raw text"}


def _write(path, *cells, minor=5):
    path.write_text(nbformat.writes(make_notebook(*cells, minor=minor)), encoding="utf-8")
    return path


def _ruff_only(paths, **kwargs):
    config = LintConfig(select=kwargs.pop("select", ("E4", "E7", "E9", "F")), **kwargs)
    return lint_paths(paths, config, jobs=1)


def test_cells_are_numbered_over_all_cells_with_ids(tmp_path):
    path = _write(tmp_path / "nb.ipynb", MD, "import os", RAW, MD, "x = 1\nprint(undefined)")
    report = _ruff_only([path])
    found = [(d.code, d.cell, d.cell_id, d.line, d.column) for d in report.diagnostics]
    assert found == [("F401", 2, "c2", 1, 8), ("F821", 5, "c5", 2, 7)]
    assert report.diagnostics[0].fix_applicability.value == "safe"
    assert report.diagnostics[0].url.startswith("https://docs.astral.sh/ruff/")


def test_one_ruff_run_serves_many_notebooks(tmp_path):
    paths = [_write(tmp_path / f"nb{i}.ipynb", MD, f"import os{i}" if i else "import os")
             for i in range(3)]
    report = _ruff_only([tmp_path])
    assert sorted((d.path, d.code) for d in report.diagnostics) == sorted(
        (str(p), "F401") for p in paths
    )


MAGIC_CELLS = (
    "%run helpers.py\nhelper()",
    "%store -r saved\nprint(saved)",
    "%%capture captured\nprint(1)",
    "captured.show()",
    "import pandas as pd\npd.read_csv?",
    "import numpy as np\n%timeit np.zeros(3)",
    "print(In[1], Out, _)",
    "%matplotlib inline\nfiles = !ls\nprint(files)",
    "%%bash\necho $undefined_in_bash",
    "!pip install requests",
    "x = %pwd\nprint(x)",
    "import json\ncfg = {'a': 1}\n!echo {json.dumps(cfg)}",
    "import os\nlisted = !ls {os.getcwd()}\nprint(listed)",
    "import glob as pattern\n!ls $pattern",
)


def test_magics_cause_no_false_positives(tmp_path):
    path = _write(tmp_path / "magics.ipynb", MD, *MAGIC_CELLS)
    report = _ruff_only([path], select=("F", "E"))
    assert report.errors == []
    assert [(d.code, d.message) for d in report.diagnostics] == []


def test_name_defined_in_a_later_cell_is_reported_once_by_nb004(tmp_path):
    path = _write(tmp_path / "order.ipynb", MD, "print(threshold)", "threshold = 0.5")
    codes = [d.code for d in lint_paths([path], LintConfig(), jobs=1).diagnostics]
    assert "NB004" in codes and "F821" not in codes
    # Without NB004 selected, ruff's F821 is kept: the finding is never lost.
    codes = [d.code for d in lint_paths([path], LintConfig(ignore=("NB004",)), jobs=1).diagnostics]
    assert "F821" in codes


def test_syntax_errors_come_back_as_e999(tmp_path):
    path = _write(tmp_path / "syntax.ipynb", MD, "def f(:\n    pass")
    report = _ruff_only([path])
    assert {d.code for d in report.diagnostics} == {SYNTAX_ERROR_CODE}
    assert {d.cell for d in report.diagnostics} == {2}
    assert not lint_paths([path], LintConfig(select=("F",)), jobs=1).diagnostics


def test_a_cell_gets_its_first_syntax_error_only(tmp_path):
    # Ruff reports five errors for this one line (it recovers and goes on); the cell below
    # has its own.
    path = _write(tmp_path / "syntax.ipynb", "x = 1\ndf.loc[(:, 1), (:, 'HR')]", "if x:\n")
    found = [(d.cell, d.line, d.column, d.message) for d in _ruff_only([path]).diagnostics
             if d.code == SYNTAX_ERROR_CODE]
    assert [(cell, line, column) for cell, line, column, _ in found] == [(1, 2, 9), (2, 1, 6)]
    assert found[0][3] == "Expected an expression"


def test_selection_and_suppression_apply_to_ruff_codes(tmp_path):
    path = _write(tmp_path / "nb.ipynb", MD, "import os", "import sys  # nbprod: ignore[F401]",
                  "import json\nl = 1")
    codes = lambda **kw: sorted((d.code, d.cell) for d in _ruff_only([path], **kw).diagnostics)  # noqa: E731
    assert codes() == [("E741", 4), ("F401", 2), ("F401", 4)]
    assert codes(ignore=("F",)) == [("E741", 4)]
    assert codes(select=("F401",)) == [("F401", 2), ("F401", 4)]
    assert codes(per_file_ignores={"nb.ipynb": ["E741"]}) == [("F401", 2), ("F401", 4)]


def test_no_ruff_and_nb_only_selection_do_not_run_ruff(tmp_path):
    path = _write(tmp_path / "nb.ipynb", MD, "import os")
    assert not lint_paths([path], LintConfig(ruff=False), jobs=1).diagnostics
    assert not lint_paths([path], LintConfig(select=("NB",)), jobs=1).diagnostics


def test_unknown_ruff_code_is_a_config_error(tmp_path):
    from nbprod.errors import ConfigError

    path = _write(tmp_path / "nb.ipynb", MD, "x = 1")
    with pytest.raises(ConfigError, match="ruff refused the rule selection"):
        lint_paths([path], LintConfig(select=("XYZ999",)), jobs=1)


def test_v3_notebook_is_checked_through_stdin(tmp_path):
    v3 = {
        "nbformat": 3, "nbformat_minor": 0, "metadata": {},
        "worksheets": [{"metadata": {}, "cells": [
            {"cell_type": "heading", "level": 1, "metadata": {}, "source": "T"},
            {"cell_type": "code", "input": "import os", "language": "python", "metadata": {},
             "outputs": [], "collapsed": False},
        ]}],
    }
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3), encoding="utf-8")
    report = _ruff_only([path])
    assert [(d.code, d.cell, d.path) for d in report.diagnostics] == [("F401", 2, str(path))]
    assert report.warnings == [f"{path}: nbformat 3 notebook upgraded to 4 in memory;"
                               " the file is unchanged"]


def test_a_notebook_with_keys_nbformat_does_not_define_gets_ruffs_findings(tmp_path):
    # fastai's tools leave `path_` in the notebook and `idx_` in its cells. Jupyter opens
    # such a notebook (with a warning); ruff refuses it as a whole ("does not match the
    # schema"). Ruff is given the notebook without them, so its findings are the ones it
    # reports for the same notebook without them, cell numbers included; --fix keeps them.
    node = json.loads(nbformat.writes(make_notebook(MD, "import os\nprint(undefined)")))
    node["path_"] = "nbs"
    for index, cell in enumerate(node["cells"]):
        cell["idx_"] = index
    path = tmp_path / "clean.ipynb"
    path.write_text(json.dumps(node), encoding="utf-8")

    report = _ruff_only([path])
    assert [(d.code, d.cell) for d in report.diagnostics] == [("F401", 2), ("F821", 2)]
    fixed = lint_paths([path], LintConfig(select=("F401",), fix=True), jobs=1)
    assert fixed.fixed == 1
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["path_"] == "nbs" and [c["idx_"] for c in saved["cells"]] == [0, 1]
    assert "".join(saved["cells"][1]["source"]) == "print(undefined)"


def test_ruff_input_keeps_the_cells_in_order_with_what_ruff_reads():
    from nbprod.lint.ruff import ruff_input
    from nbprod.notebook import Notebook

    node = json.loads(nbformat.writes(make_notebook(
        MD, {"source": "1 / 0", "outputs": [{"output_type": "stream", "name": "stdout",
                                             "text": "x"}], "execution_count": 3}, RAW)))
    node["cells"][1]["idx_"] = 1
    sent = json.loads(ruff_input(Notebook(node=node)))
    assert [c["cell_type"] for c in sent["cells"]] == ["markdown", "code", "raw"]
    assert sent["cells"][1] == {**{k: v for k, v in node["cells"][1].items() if k != "idx_"},
                                "outputs": []}
    assert sent["metadata"] == node["metadata"]


def test_fix_applies_safe_ruff_fixes_and_keeps_the_rest(tmp_path):
    # A trailing semicolon on a cell's last line hides output: ruff (rightly) leaves it.
    path = _write(tmp_path / "nb.ipynb", MD, "import os\nimport sys\nprint(sys.argv);\nx = 1;",
                  "import pandas as pd\npd.read_csv?", "f = lambda: 0")
    report = lint_paths([path], LintConfig(select=("F401", "E703", "E731"), fix=True), jobs=1)
    nb = load(path)
    assert nb.cells[1].source == "import sys\nprint(sys.argv)\nx = 1;"
    assert nb.cells[2].source == "import pandas as pd\npd.read_csv?"  # used by the help line
    assert nb.cells[3].source == "f = lambda: 0"  # E731's fix is unsafe
    assert report.fixed == 2
    assert [d.code for d in report.diagnostics] == ["E731"]
    lint_paths([path], LintConfig(select=("E731",), fix=True, unsafe_fixes=True), jobs=1)
    assert load(path).cells[3].source.startswith("def f():")


def test_fixes_that_together_would_empty_a_body_leave_pass(tmp_path):
    # Each F841 fix deletes one assignment; both at once left `def show():` with no body
    # (seen in nbdev/tests/docs_test.ipynb). One is applied, then ruff is asked again.
    path = _write(tmp_path / "nb.ipynb", "def show():\n    a = 2\n    b = 3", "show()")
    report = lint_paths([path], LintConfig(select=("F841",), fix=True, unsafe_fixes=True),
                        jobs=1)
    assert load(path).cells[0].source == "def show():\n    pass\n"
    assert report.fixed == 2 and report.diagnostics == []


def test_a_fix_is_not_applied_where_it_would_break_the_cell(tmp_path):
    nb = load(_write(tmp_path / "nb.ipynb", "x = 1\ny = 2"))
    opening = {"content": "(", "location": {"row": 2, "column": 1},
               "end_location": {"row": 2, "column": 1}}
    broken = Diagnostic("X1", "x", "an edit that leaves a bracket open", Severity.WARNING,
                        nb.display_path, 1, None, fix_title="t",
                        fix_applicability=Applicability.SAFE, data={"ruff_edits": [opening]})
    assert apply_ruff_fixes(nb, [broken], {Applicability.SAFE}) == 0
    assert nb.cells[0].source == "x = 1\ny = 2"


def test_apply_edits_with_non_ascii_columns(tmp_path):
    path = _write(tmp_path / "nb.ipynb", MD, "s = 'é漢字'; t = '😀';\nimport os")
    nb = load(path)
    from nbprod.lint.ruff import notebook_facts, to_diagnostics

    items = check_text(path.read_text(encoding="utf-8"), str(path), ("E703",))
    diags = to_diagnostics(items, notebook_facts(nb, {}), lambda code: True)
    assert apply_ruff_fixes(nb, diags, {Applicability.SAFE}) == 1
    assert nb.cells[1].source == "s = 'é漢字'; t = '😀'\nimport os"


def test_import_used_in_a_cell_above_is_not_called_unused(tmp_path):
    # Executed out of order: ruff sees the use before the import and calls the import unused;
    # its "safe" fix would delete an import the notebook needs.
    path = _write(
        tmp_path / "order.ipynb",
        MD,
        "model = RandomForestClassifier()",
        "from sklearn.ensemble import RandomForestClassifier\nimport numpy as np",
    )
    report = _ruff_only([path])
    assert [(d.code, d.message) for d in report.diagnostics] == [
        ("F821", "Undefined name `RandomForestClassifier`"),
        ("F401", "`numpy` imported but unused"),
    ]
