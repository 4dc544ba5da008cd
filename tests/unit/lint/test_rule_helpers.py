"""The pieces rules are built from: masking, dependency declarations, LFS stubs, positions."""

from __future__ import annotations

import ast

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.analysis import analyze_source
from nbprod.lint.checker import LintConfig, lint
from nbprod.lint.rules._helpers import span
from nbprod.lint.rules.portability import (
    declared_distributions,
    import_distributions,
    is_lfs_pointer,
)
from nbprod.lint.rules.secrets import mask
from nbprod.notebook import loads


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "AKIA************MPLE"),
        ("x" * 100, "xxxx" + "*" * 20 + "xxxx"),
        ("hunter2", "hu*****"),
        ("abc", "ab****"),
    ],
)
def test_mask_keeps_only_the_ends(value, masked):
    assert mask(value) == masked


def test_declarations_are_read_from_every_kind_of_file(tmp_path):
    assert declared_distributions([tmp_path]) is None
    (tmp_path / "requirements-dev.txt").write_text("Pandas_Profiling>=4 # note\n-r base.txt\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "churn"\ndependencies = ["scikit-learn>=1.3", "numpy"]\n'
        '[project.optional-dependencies]\nplot = ["matplotlib"]\n'
        '[dependency-groups]\ndev = ["pytest"]\n'
        "[tool.poetry.dependencies]\nxgboost = \"^2\"\n"
    )
    (tmp_path / "environment.yml").write_text("dependencies:\n  - python=3.11\n  - lightgbm\n")
    assert declared_distributions([tmp_path]) == {
        "pandas-profiling", "churn", "scikit-learn", "numpy", "matplotlib", "pytest",
        "xgboost", "python", "lightgbm",
    }


def test_broken_pyproject_declares_nothing_rather_than_failing(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert declared_distributions([tmp_path]) == set()


def test_import_names_map_to_distributions():
    assert "scikit-learn" in import_distributions("sklearn")
    assert "pyyaml" in import_distributions("yaml")
    assert import_distributions("surely_not_installed") == {"surely-not-installed"}


def test_lfs_pointer_detection(tmp_path):
    stub = tmp_path / "stub.csv"
    stub.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 1\n")
    data = tmp_path / "data.csv"
    data.write_text("a,b\n")
    assert is_lfs_pointer(stub)
    assert not is_lfs_pointer(data)
    assert not is_lfs_pointer(tmp_path / "absent.csv")
    assert not is_lfs_pointer(tmp_path)


def test_span_counts_characters_not_bytes():
    result = analyze_source('é = "ü"; df.ix')
    node = next(n for n in ast.walk(result.tree) if isinstance(n, ast.Attribute))
    assert span(result, node).column == 10


def test_suppression_comment_silences_a_rule():
    nb = loads(nbformat.writes(make_notebook(
        "import random\nrandom.random()  # nbprod: ignore[NB601]", "random.random()",
    )))
    result = lint(nb, LintConfig(select=("NB601",)))
    assert [d.cell for d in result.diagnostics] == [2]


def test_undeclared_dependency_is_silent_without_declarations(tmp_path):
    nb = loads(nbformat.writes(make_notebook("import xgboost")), path=tmp_path / "nb.ipynb")
    assert lint(nb, LintConfig(select=("NB207",)), project_root=tmp_path).diagnostics == []
    (tmp_path / "requirements.txt").write_text("pandas\n")
    found = lint(nb, LintConfig(select=("NB207",)), project_root=tmp_path).diagnostics
    assert [d.code for d in found] == ["NB207"]
