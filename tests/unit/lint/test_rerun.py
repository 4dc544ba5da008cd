"""The rerun verdict, the execution-order rule that only judges real orders, Python 2
notebooks, and what ``nbprod lint`` shows of them (text, JSON, ``--rerun``, colour)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from notebook_builder import make_notebook

from nbprod.lint import LintConfig, lint, lint_paths
from nbprod.lint.rerun import mark_ruff_blockers, removed_here, verdict
from nbprod.lint.rule import Diagnostic, Severity
from nbprod.lint.rules import BUILTIN_RULES
from nbprod.notebook import loads

PY2 = {"kernelspec": {"name": "python2", "display_name": "Python 2", "language": "python"},
       "language_info": {"name": "python", "version": "2.7.15"}}


def codes_of(*cells, select=("NB001",), metadata=None) -> list[Diagnostic]:
    import nbformat

    nb = loads(nbformat.writes(make_notebook(*cells, metadata=metadata)))
    return lint(nb, LintConfig(select=select)).diagnostics


def counted(*counts):
    return [{"source": f"x{i} = {i}", "execution_count": c} for i, c in enumerate(counts)]


@pytest.mark.parametrize("counts", [(0, 0, 0, 0), (1, 1, 1), (None, None), (3,), (0, 4, 4)])
def test_counts_that_tell_no_order_are_not_judged(counts):
    assert codes_of(*counted(*counts)) == []


def test_out_of_order_is_one_finding_listing_the_cells():
    found = codes_of(*counted(1, 5, 2, 9, 3, 10))
    assert len(found) == 1
    assert found[0].cell == 3
    assert found[0].message == (
        "2 cells executed out of order: cell 3 ([2] after [5]), cell 5 ([3] after [9]);"
        " 4 executions not in the saved notebook; restart the kernel and run all cells"
    )
    assert codes_of(*counted(1, 2, 4)) == []  # a gap alone is NB002's, off by default


def test_a_restarted_kernel_still_shows_the_order():
    """Counts repeat when the kernel restarted between runs: the order is still judged, but
    equal counts are not taken as out of order, and no missing executions are claimed."""
    found = codes_of(*counted(1, 2, 2, 3, 1, 4))
    assert [d.message for d in found] == [
        "1 cell executed out of order: cell 5 ([1] after [3]); restart the kernel and run"
        " all cells"
    ]


def test_every_rule_declares_whether_it_blocks_a_rerun():
    blockers = {rule.code for rule in BUILTIN_RULES if rule.rerun_blocker}
    assert {"NB004", "NB005", "NB007", "NB014", "NB205", "NB206", "NB208", "NB503",
            "NB510"} <= blockers
    assert not blockers & {"NB001", "NB002", "NB008", "NB207", "NB602", "NB606"}


def test_verdict_names_the_first_blocking_cell():
    found = codes_of(
        "print(later)",
        "import pandas as pd\npd.read_csv('no/such/file.csv')",
        "later = 1",
        select=("NB",),
    )
    result = verdict("nb.ipynb", found)
    assert result.will_fail and result.cell == 1 and result.blockers == 1
    assert result.text().startswith("will fail at cell 1: NB004 `later` is used here")
    assert verdict("nb.ipynb", []).text() == "no rerun blocker found"


def _ruff(code: str) -> Diagnostic:
    return Diagnostic(code=code, name=code, message="m", severity=Severity.ERROR, path="p",
                      cell=1, cell_id=None)


def test_ruff_blockers_depend_on_the_installed_versions():
    marked = {d.code: d.rerun_blocker for d in mark_ruff_blockers(
        [_ruff("E999"), _ruff("F821"), _ruff("F401"), _ruff("NPY201")])}
    assert marked["E999"] and marked["F821"] and not marked["F401"]
    # Ruff's error about the file itself (no cell) says nothing about running the code.
    (unread,) = mark_ruff_blockers([dataclasses.replace(_ruff("E999"), cell=None)])
    assert not unread.rerun_blocker
    assert marked["NPY201"] == removed_here("numpy", "2.0")
    assert removed_here("a-package-nobody-installed", "1.0")
    assert not removed_here("pandas", "999.0")


def test_python2_notebook_is_one_finding_not_one_syntax_error_per_cell(notebook_factory):
    path = notebook_factory("old.ipynb", "import math", 'print "a"', 'print "b"',
                            "x = `1`", metadata=PY2)
    report = lint_paths([path], LintConfig(), jobs=1)
    codes = [d.code for d in report.diagnostics]
    assert codes.count("NB014") == 1 and "E999" not in codes
    (only,) = report.verdicts
    assert only.cell == 2 and only.blocker.code == "NB014"
    # A syntax error in a Python 3 notebook is still ruff's E999, and blocks the rerun.
    path3 = notebook_factory("typo.ipynb", "x = (1,")
    report3 = lint_paths([path3], LintConfig(), jobs=1)
    assert [d.code for d in report3.diagnostics] == ["E999"]
    assert report3.verdicts[0].will_fail


def test_ipython_syntax_is_not_a_syntax_error(notebook_factory):
    path = notebook_factory("shell.ipynb", "ls data", "cat notes.txt", "x = 1\nx?")
    report = lint_paths([path], LintConfig(), jobs=1)
    assert [d.code for d in report.diagnostics] == []
    assert not report.verdicts[0].will_fail


def test_names_ipython_defines_are_not_undefined(notebook_factory):
    typo = notebook_factory("typo.ipynb", "import numpy as np", "x = np.zeros(3) + arange(3)")
    pylab = notebook_factory("pylab.ipynb", "%pylab inline", "x = arange(3)")
    cython = notebook_factory("cython.ipynb", "%load_ext Cython",
                              "%%cython\ndef fast(int n):\n    return n", "fast(3)")
    report = lint_paths([typo, pylab, cython], LintConfig(), jobs=1)
    assert [(d.path, d.code) for d in report.diagnostics] == [(str(typo), "F821")]
    assert [v.will_fail for v in report.verdicts] == [True, False, False]


def test_cli_prints_a_verdict_per_notebook(run_cli, notebook_factory):
    bad = notebook_factory("bad.ipynb", "print(later)", "later = 1")
    good = notebook_factory("good.ipynb", "x = 1\nprint(x)")
    result = run_cli("lint", bad, good)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[-2].startswith(f"{bad}: will fail at cell 1: NB004 `later` is used here")
    assert lines[-1] == f"{good}: no rerun blocker found"
    assert "1 notebook will fail a rerun" in result.stderr
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_rerun_flag_shows_only_blockers(run_cli, notebook_factory):
    bad = notebook_factory("bad.ipynb", "import os\nprint(later)", "later = 1")
    good = notebook_factory("good.ipynb", "import os")
    text = run_cli("lint", "--rerun", bad, good)
    assert text.exit_code == 1
    assert "F401" not in text.stdout and "NB004" in text.stdout
    data = json.loads(run_cli("lint", "--rerun", "--output-format", "json", bad, good).stdout)
    assert [(v["will_fail"], v["cell"], v["code"]) for v in data] == [
        (True, 1, "NB004"), (False, None, None)]
    assert [f["code"] for f in data[0]["findings"]] == ["NB004"]
    assert run_cli("lint", "--rerun", good).exit_code == 0
    plain = json.loads(run_cli("lint", "--output-format", "json", bad).stdout)
    assert {(d["code"], d["rerun_blocker"]) for d in plain} == {
        ("F401", False), ("NB004", True)}


def test_colour_on_a_terminal_unless_no_color(monkeypatch, notebook_factory):
    from click.testing import CliRunner

    from nbprod.cli import cli

    bad = notebook_factory("bad.ipynb", "print(later)", "later = 1")
    runner = CliRunner()
    coloured = runner.invoke(cli, ["lint", str(bad)], color=True)
    assert "\x1b[31m" in coloured.stdout  # the blocker and the verdict in red
    monkeypatch.setenv("NO_COLOR", "1")
    plain = runner.invoke(cli, ["lint", str(bad)], color=True)
    assert "\x1b[" not in plain.stdout


@pytest.mark.parametrize(("pandas", "found"), [("2.2.3", []), ("3.0.0", ["NB510"])])
def test_a_removed_api_is_reported_only_where_the_installed_version_lacks_it(
    monkeypatch, pandas, found
):
    import nbprod.lint.rerun as rerun

    monkeypatch.setattr(rerun, "installed_version", {"pandas": pandas}.get)
    cell = "import pandas as pd\nhours = pd.date_range('2020', periods=3, freq='H')"
    assert [d.code for d in codes_of(cell, select=("NB510",))] == found


def test_installed_versions_are_read_from_the_environment(monkeypatch):
    monkeypatch.undo()  # the lint tests pin versions (conftest); this one reads the real ones
    import nbprod.lint.rerun as rerun

    assert rerun.installed_version("pytest") is not None
    assert rerun.installed_version("a-package-nobody-installed") is None
    assert not rerun.removed_here("pytest", "999.0") and rerun.removed_here("pytest", "1.0")


def test_period_end_aliases_are_left_alone_in_a_notebook_that_works_with_periods(monkeypatch):
    """For a PeriodIndex 'M' is right and 'ME' an error: the fix would break the cell."""
    import nbprod.lint.rerun as rerun

    monkeypatch.setattr(rerun, "installed_version", {"pandas": "3.0.0"}.get)
    cell = ("import pandas as pd\n"
            "ps = pd.Series(range(30), index=pd.period_range('2020-01-01', periods=30,"
            " freq='D'))\n"
            "monthly = ps.resample('M').sum()\nq = monthly.asfreq('Q')\n"
            "hours = ps.resample('H').sum()")
    found = codes_of(cell, select=("NB510",))
    assert [(d.code, d.line) for d in found] == [("NB510", 5)]  # 'H' is gone for periods too
    without_periods = cell.replace("pd.period_range", "pd.date_range")
    assert [d.line for d in codes_of(without_periods, select=("NB510",))] == [3, 4, 5]
    # Periods elsewhere in the notebook do not hide a resample of datetime data.
    beside = without_periods + "\nquarters = pd.period_range('2020', periods=4, freq='Q')"
    assert [d.line for d in codes_of(beside, select=("NB510",))] == [3, 4, 5]
