"""Fixes: applied to a copy, the rest of the notebook byte-identical after save, idempotent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint.checker import LintConfig, lint
from nbprod.lint.rules import BUILTIN_RULES
from nbprod.notebook import dumps, load, save

FIXTURES = Path(__file__).parents[2] / "data" / "notebooks" / "lint"
FIXABLE = [rule.code for rule in BUILTIN_RULES if rule.fix_applicability is not None]

# What each fix must produce, by cell id: the new source, or None for a deleted cell.
EXPECTED = {
    "NB007": {"c1": "1 / 0"},
    "NB008": {"c2": None, "c4": None},
    "NB101": {"c2": "alpha = 0.5\nname = 'x'"},
    "NB105": {
        "c1": "lr: float = 0.1\nepochs: int = 10\nname: str = 'run'  # run name\nmissing = None\n"
        "flags: list = [1, 2]"
    },
    "NB203": {
        "c1": "# moved to requirements.txt: !pip install xgboost\n"
        "# moved to requirements.txt: %pip install -q lightgbm\nimport os",
        "c4": "# %conda install numpy",
    },
    "NB503": {
        "c1": 'import matplotlib.pyplot as plt\nplt.style.use("seaborn-v0_8-whitegrid")\n'
        'plt.style.use("ggplot")\nwith plt.style.context(["seaborn-v0_8", "dark_background"]):\n'
        '    pass\nplt.style.use("seaborn-v0_8-white")',
        "c2": "%matplotlib inline\nplt.style.use('seaborn-v0_8-darkgrid')",
    },
    "NB507": {
        "c1": 'X = df.to_numpy()\nY = df.as_matrix(columns=["a"])\n'
        "for k, v in df.items():\n    pass\nZ = df.to_numpy()"
    },
    "NB510": {
        "c1": 'import pandas as pd\nhours = pd.date_range("2015-07-03", periods=8, freq="h")\n'
        'ok = pd.date_range("2015-07-03", periods=8, freq="h")\n'
        'monthly = sales.resample("ME").sum()\nstarts = sales.resample("MS").sum()\n'
        'quarter = sales.asfreq(freq="15min")\nyearly = pd.Grouper(freq="YE-DEC")'
    },
}


def _fix(path: Path, code: str, **overrides):
    nb = load(path)
    config = {
        "fix": True,
        "unsafe_fixes": True,
        **nb.node.metadata.get("nbprod-fixture", {}).get("config", {}),
        **overrides,
    }
    return nb, lint(nb, LintConfig(select=(code,), **config))


def test_every_fixable_rule_has_an_expectation():
    assert sorted(EXPECTED) == sorted(FIXABLE)


@pytest.mark.parametrize("code", FIXABLE)
def test_fix_changes_only_the_reported_cells(code, tmp_path):
    path = tmp_path / f"{code}.ipynb"
    shutil.copyfile(FIXTURES / f"{code}.ipynb", path)
    original_text = path.read_text(encoding="utf-8")
    original, result = _fix(path, code)
    assert result.fixed > 0
    assert dumps(original) == original_text, "the loaded notebook was modified"
    save(result.fixed_notebook)

    fixed_text = path.read_text(encoding="utf-8")
    fixed = json.loads(fixed_text)
    before = json.loads(original_text)
    assert {k: v for k, v in fixed.items() if k != "cells"} == {
        k: v for k, v in before.items() if k != "cells"
    }
    expected = EXPECTED[code]
    by_id = {cell["id"]: cell for cell in fixed["cells"]}
    for cell in before["cells"]:
        if cell["id"] not in expected:
            assert by_id[cell["id"]] == cell, f"cell {cell['id']} changed"
        elif expected[cell["id"]] is None:
            assert cell["id"] not in by_id
        else:
            assert "".join(by_id[cell["id"]]["source"]) == expected[cell["id"]]
    # Untouched cells are serialised exactly as before: the file keeps Jupyter's layout.
    assert dumps(load(path)) == fixed_text


@pytest.mark.parametrize("code", FIXABLE)
def test_fix_is_idempotent(code, tmp_path):
    path = tmp_path / f"{code}.ipynb"
    shutil.copyfile(FIXTURES / f"{code}.ipynb", path)
    _, first = _fix(path, code)
    save(first.fixed_notebook)
    once = path.read_bytes()
    _, second = _fix(path, code)
    assert second.fixed == 0
    assert second.fixed_notebook is None
    assert not [d for d in second.diagnostics if d.fixable]
    assert path.read_bytes() == once


def test_unsafe_fix_needs_unsafe_fixes(tmp_path):
    path = tmp_path / "NB203.ipynb"
    shutil.copyfile(FIXTURES / "NB203.ipynb", path)
    (tmp_path / "requirements.txt").write_text("pandas\n")
    _, result = _fix(path, "NB203", unsafe_fixes=False)
    assert result.fixed == 2  # the two pip lines are moved; the conda line needs unsafe fixes
    sources = [cell.source for cell in result.fixed_notebook.cells]
    assert sources[3] == "%conda install numpy"


def test_declaring_the_first_dependencies_of_a_project_is_an_unsafe_fix(tmp_path):
    # Without any requirements.txt or pyproject.toml dependencies, moving the installs
    # would create a requirements.txt listing only them, and NB207 would then report every
    # other import of the project: only with --unsafe-fixes.
    path = tmp_path / "NB203.ipynb"
    shutil.copyfile(FIXTURES / "NB203.ipynb", path)
    _, safe_only = _fix(path, "NB203", unsafe_fixes=False)
    assert safe_only.fixed == 0 and not safe_only.file_edits
    offers = {d.fix_title: d.fix_applicability for d in safe_only.diagnostics}
    assert offers["Move `xgboost` to a new requirements.txt"] == "unsafe"
    _, unsafe = _fix(path, "NB203", unsafe_fixes=True)
    assert unsafe.fixed == 3
    assert unsafe.file_edits[tmp_path / "requirements.txt"].split() == ["xgboost", "lightgbm"]


def test_notebooks_fixed_at_the_same_time_lose_none_of_each_others_declarations(tmp_path):
    """Each notebook's fix reads requirements.txt, adds its package and writes it back. Fixed
    by worker processes at once (40 notebooks: a pool), and by four nbprod processes at once
    (as pre-commit runs them), every package must end up declared."""
    import subprocess
    import sys

    def fix(folder: Path, *paths: Path | str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "nbprod", "lint", "--select", "NB203", "--fix", "--no-cache",
             *map(str, paths)],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def project(folder: Path) -> list[Path]:
        folder.mkdir()
        (folder / "requirements.txt").write_text("numpy\n")
        notebooks = []
        for i in range(40):
            notebook = folder / f"nb{i:02d}.ipynb"
            notebook.write_text(nbformat.writes(make_notebook(f"!pip install pkg{i}\nimport os")))
            notebooks.append(notebook)
        return notebooks

    def declared(folder: Path) -> list[str]:
        return sorted((folder / "requirements.txt").read_text().split())

    expected = sorted(["numpy", *(f"pkg{i}" for i in range(40))])
    pooled = tmp_path / "pooled"
    project(pooled)
    assert fix(pooled, ".").wait(timeout=120) == 0
    assert declared(pooled) == expected

    separate = tmp_path / "separate"
    notebooks = project(separate)
    processes = [fix(separate, *notebooks[k::4]) for k in range(4)]
    assert [process.wait(timeout=120) for process in processes] == [0, 0, 0, 0]
    assert declared(separate) == expected


def test_moved_installs_are_declared_only_when_the_notebook_is_saved(tmp_path):
    path = tmp_path / "NB203.ipynb"
    shutil.copyfile(FIXTURES / "NB203.ipynb", path)
    _, result = _fix(path, "NB203")
    assert list(result.file_edits) == [tmp_path / "requirements.txt"]
    added = result.file_edits[tmp_path / "requirements.txt"].splitlines()
    assert added == ["xgboost", "lightgbm"]  # in the notebook's order
    assert not (tmp_path / "requirements.txt").exists()


def test_packages_moved_into_requirements_keep_the_notebooks_order(tmp_path):
    (tmp_path / "requirements.txt").write_text("numpy")  # no final newline
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(make_notebook(
        "!pip install xgboost\n%pip install -q lightgbm\nimport os", "!pip install catboost")))
    _, result = _fix(path, "NB203", unsafe_fixes=False)
    assert result.file_edits[tmp_path / "requirements.txt"] == (
        "numpy\nxgboost\nlightgbm\ncatboost\n")


def test_moving_installs_through_the_cli(run_cli, tmp_path):
    """The project's requirements.txt gets what was missing (kept as it was otherwise), the
    install lines are commented out, and NB207 then finds the packages declared."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "churn"\n')
    (tmp_path / "requirements.txt").write_text("# pinned\nXGBoost==2.0.3")
    notebook = tmp_path / "nbs" / "train.ipynb"
    notebook.parent.mkdir()
    notebook.write_text(nbformat.writes(make_notebook(
        '!pip install -q xgboost "scikit-learn>=1.3"\nimport xgboost\nimport sklearn',
        "!pip install -r other.txt",
    )))
    result = run_cli("lint", notebook, "--select", "NB203,NB207", "--fix", cwd=tmp_path)
    assert result.exit_code == 1, result.output  # the `-r` line only has an unsafe fix
    assert (tmp_path / "requirements.txt").read_text() == (
        "# pinned\nXGBoost==2.0.3\nscikit-learn>=1.3\n"
    )
    cells = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]]
    assert cells[0].startswith(
        '# moved to ../requirements.txt: !pip install -q xgboost "scikit-learn>=1.3"\n'
    )
    assert cells[1] == "!pip install -r other.txt"
    assert "NB207" not in result.output
    assert "1 hidden fix can be enabled with --unsafe-fixes" in result.output


def test_a_fix_that_writes_a_project_file_reports_every_notebook_as_it_now_is(run_cli,
                                                                               tmp_path):
    # a.ipynb is linted first, while the project declares no package at all (NB207 is
    # silent then); b.ipynb's fix then creates a requirements.txt, against which a.ipynb's
    # import is undeclared. The report must say so, as the next run does, not show a.ipynb
    # as it was before the file existed. (Creating the project's first declaration of
    # dependencies is an unsafe fix.)
    (tmp_path / "a.ipynb").write_text(nbformat.writes(make_notebook("import numpy")))
    (tmp_path / "b.ipynb").write_text(nbformat.writes(make_notebook(
        "!pip install xgboost\nimport xgboost")))
    args = ("lint", "a.ipynb", "b.ipynb", "--select", "NB203,NB207", "--no-cache")
    fixed = run_cli(*args, "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert (tmp_path / "requirements.txt").read_text() == "xgboost\n"
    assert "a.ipynb:cell 1:1:1: NB207 `numpy` is imported but the project does not declare" in (
        fixed.output)
    assert "The fixes also wrote requirements.txt.\nFixed 1, found 1 finding in 2 notebooks" in (
        fixed.output)
    again = run_cli(*args, cwd=tmp_path)
    assert [line for line in again.output.splitlines() if "NB" in line] == [
        line for line in fixed.output.splitlines() if "NB" in line]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!pip install xgboost", ["xgboost"]),
        ("%pip install -q -U xgboost==2.0.3 'pandas[parquet]>=2,<3'", ["xgboost==2.0.3",
                                                                      "pandas[parquet]>=2,<3"]),
        ("!python -m pip install --user seaborn", ["seaborn"]),
        ("pip install lightgbm", ["lightgbm"]),
        ("!pip install -r requirements.txt", None),
        ("!pip install -e .", None),
        ("!pip install git+https://github.com/org/repo", None),
        ("!pip install --index-url https://example.org/simple torch", None),
        ("!pip install $PACKAGE", None),
        ("!{sys.executable} -m pip install numpy", None),
        ("!pip install numpy && echo done", None),
        ("%conda install numpy", None),
        ("!pip install", None),
        ("!pip install 'unbalanced", None),
    ],
)
def test_which_install_lines_can_be_moved(line, expected):
    from nbprod.lint.rules.portability import movable_requirements

    assert movable_requirements(line) == expected


def test_fix_through_the_cli_writes_the_file(run_cli, tmp_path):
    path = tmp_path / "NB007.ipynb"
    shutil.copyfile(FIXTURES / "NB007.ipynb", path)
    result = run_cli("lint", path, "--select", "NB007", "--fix", "--exit-zero")
    assert result.exit_code == 0, result.output
    outputs = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream"]


def test_a_fix_changes_the_fixed_cell_only_in_a_file_of_any_layout(run_cli, tmp_path):
    """A one-line (Kaggle, Colab) notebook with CRLF-free strings and escaped accents stays
    one line, escaped and in its key order: only the fixed cell's text changes."""
    cells = [{"cell_type": "markdown", "source": "## Café", "metadata": {}},
             {"cell_type": "code", "source": "import os\nx = 1", "metadata": {},
              "execution_count": None, "outputs": []},
             {"cell_type": "code", "source": "print(x)", "metadata": {},
              "execution_count": None, "outputs": []}]
    kernel = {"name": "python3", "display_name": "P", "language": "python"}
    text = json.dumps({"metadata": {"kernelspec": kernel},
                       "nbformat_minor": 4, "nbformat": 4, "cells": cells},
                      separators=(",", ":"))
    path = tmp_path / "kaggle.ipynb"
    path.write_text(text, encoding="utf-8")
    result = run_cli("lint", path, "--select", "F401", "--fix")
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == text.replace("import os\\nx = 1", "x = 1")


def test_an_nbformat_3_file_is_not_rewritten_by_fixes(run_cli, tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
          "worksheets": [{"metadata": {}, "cells": [
              {"cell_type": "code", "input": "import os\nx = 1", "language": "python",
               "metadata": {}, "outputs": [], "collapsed": False},
              {"cell_type": "code", "input": "print(x)", "language": "python",
               "metadata": {}, "outputs": [], "collapsed": False}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3), encoding="utf-8")
    before = path.read_bytes()
    for extra, exit_code in (((), 1), (("--diff",), 0)):  # --diff: nothing would change
        result = run_cli("lint", path, "--select", "F401", "--fix", *extra)
        assert result.exit_code == exit_code, result.output
        assert "not fixed: fixing would rewrite this nbformat 3 file as nbformat 4" in result.output
        assert path.read_bytes() == before


def test_one_fix_run_leaves_nothing_a_second_would_fix(run_cli, tmp_path):
    """Ruff's F401 fix empties a cell; nbprod's NB008 fix then removes it in the same run."""
    path = tmp_path / "nb.ipynb"
    nbformat.write(make_notebook({"source": "# T", "cell_type": "markdown"},
                                 {"source": "import os"}, {"source": "x = 1"},
                                 {"source": "print(x)"}), path)
    first = run_cli("lint", path, "--select", "F401,NB008", "--fix")
    assert first.exit_code == 0, first.output
    assert "Fixed 2" in first.output
    assert [c.source for c in nbformat.read(path, 4).cells] == ["# T", "x = 1", "print(x)"]
    before = path.read_bytes()
    second = run_cli("lint", path, "--select", "F401,NB008", "--fix")
    assert second.exit_code == 0 and path.read_bytes() == before


def test_a_cell_removed_by_the_second_round_renumbers_the_findings_after_it(run_cli, tmp_path):
    """After NB008 removes the cell ruff emptied, ruff's findings are mapped to the cells as
    they now are: the name used above its definition is reported once, by NB004."""
    path = tmp_path / "nb.ipynb"
    nbformat.write(make_notebook({"source": "# T", "cell_type": "markdown"},
                                 {"source": "import os"}, {"source": "print(late)"},
                                 {"source": "late = 1"}), path)
    result = run_cli("lint", path, "--select", "F401,F821,NB004,NB008", "--fix",
                     "--output-format", "json")
    found = [(d["code"], d["cell"]) for d in json.loads(result.stdout)]
    assert found == [("NB004", 2)], result.output
