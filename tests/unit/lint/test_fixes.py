"""Fixes: applied to a copy, the rest of the notebook byte-identical after save, idempotent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

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
        "c1": "# !pip install xgboost\n# %pip install -q lightgbm\nimport os",
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
    _, result = _fix(path, "NB203", unsafe_fixes=False)
    assert result.fixed == 0
    assert result.fixed_notebook is None


def test_fix_through_the_cli_writes_the_file(run_cli, tmp_path):
    path = tmp_path / "NB007.ipynb"
    shutil.copyfile(FIXTURES / "NB007.ipynb", path)
    result = run_cli("lint", path, "--select", "NB007", "--fix", "--exit-zero")
    assert result.exit_code == 0, result.output
    outputs = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream"]
