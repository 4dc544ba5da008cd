"""Declaring packages in requirements.txt and pyproject.toml (NB203's fix)."""

from __future__ import annotations

import json

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint.declare import add_to_pyproject, add_to_requirements_txt, requirement_name


def test_requirement_names_are_normalised():
    assert requirement_name("Scikit_Learn>=1.3") == "scikit-learn"
    assert requirement_name("pandas[parquet]==2.2") == "pandas"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "xgboost\n"),
        ("pandas\n", "pandas\nxgboost\n"),
        ("# pinned\npandas==2.2", "# pinned\npandas==2.2\nxgboost\n"),
    ],
)
def test_requirements_txt_gets_one_line_per_package(before, after):
    assert add_to_requirements_txt(before, ["xgboost"]) == after


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            '[project]\nname = "churn"\ndependencies = ["pandas"]\n',
            '[project]\nname = "churn"\ndependencies = ["xgboost", "pandas"]\n',
        ),
        (
            '[project]\ndependencies = []\n',
            '[project]\ndependencies = ["xgboost"]\n',
        ),
        (
            '[project]  # the package\ndependencies = [\n  "pandas",  # data\n  "numpy"\n]\n'
            "\n[tool.ruff]\nline-length = 99\n",
            '[project]  # the package\ndependencies = [\n  "xgboost",\n  "pandas",  # data\n'
            '  "numpy"\n]\n\n[tool.ruff]\nline-length = 99\n',
        ),
    ],
    ids=["one-line", "empty", "multi-line-with-comments"],
)
def test_pyproject_dependencies_are_edited_in_place(before, after):
    assert add_to_pyproject(before, ["xgboost"]) == after


@pytest.mark.parametrize(
    "text",
    [
        '[project]\nname = "churn"\n',  # no dependencies array
        'project = { name = "churn", dependencies = ["pandas"] }\n',  # inline table
        '[project]\nname = "x"\n[project.optional-dependencies]\ndependencies = ["a"]\n',
        "[project\nbroken",
        '[tool.poetry.dependencies]\npython = "^3.11"\n',
    ],
    ids=["no-array", "inline-table", "other-table", "not-toml", "poetry"],
)
def test_pyproject_edits_that_cannot_be_verified_are_refused(text):
    assert add_to_pyproject(text, ["xgboost"]) is None


def test_quotes_in_a_requirement_stay_valid_toml():
    marker = 'pkg; python_version<"3.12"'
    edited = add_to_pyproject('[project]\ndependencies = ["pandas"]\n', [marker])
    assert edited is not None and '"pkg; python_version<\\"3.12\\""' in edited


def test_the_fix_declares_in_pyproject_when_it_is_the_declaration(run_cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "churn"\ndependencies = [\n    "pandas",\n]\n'
    )
    notebook = tmp_path / "analysis.ipynb"
    notebook.write_text(nbformat.writes(make_notebook("%pip install xgboost\nimport xgboost")))
    result = run_cli("lint", notebook, "--select", "NB203,NB207", "--fix", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pyproject.toml").read_text() == (
        '[project]\nname = "churn"\ndependencies = [\n    "xgboost",\n    "pandas",\n]\n'
    )
    assert not (tmp_path / "requirements.txt").exists()
    source = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    assert source == "# moved to pyproject.toml: %pip install xgboost\nimport xgboost"


def test_packages_already_declared_leave_the_declaration_untouched(run_cli, tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "wine"\ndependencies = ["pandas", "scikit-learn"]\n')
    before = pyproject.stat()
    notebook = tmp_path / "explore.ipynb"
    notebook.write_text(nbformat.writes(make_notebook("!pip install pandas scikit-learn")))
    listed = run_cli("lint", notebook, "--select", "NB203", cwd=tmp_path)
    assert "Comment out the install line (pyproject.toml declares `pandas`" in (
        run_cli("lint", notebook, "--select", "NB203", "--output-format", "json").stdout
    )
    assert listed.exit_code == 1
    fixed = run_cli("lint", notebook, "--select", "NB203", "--fix", cwd=tmp_path)
    assert fixed.exit_code == 0, fixed.output
    assert pyproject.stat().st_mtime_ns == before.st_mtime_ns
    assert not (tmp_path / "requirements.txt").exists()
