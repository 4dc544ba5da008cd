"""Which distributions provide which modules: answered once per environment, kept between runs."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint import installed


@pytest.fixture
def fresh(monkeypatch):
    """A process that has not answered yet."""
    monkeypatch.setattr(installed, "_answer", None)


def forbid_computing(monkeypatch):
    def fail():
        raise AssertionError("computed again")

    monkeypatch.setattr(installed, "_computed", fail)


def test_the_answer_is_kept_and_read_back_by_the_next_run(tmp_path, fresh, monkeypatch):
    installed.prepare(tmp_path)
    first = installed.module_distributions()
    assert "scikit-learn" in first["sklearn"]
    (kept,) = tmp_path.glob("modules-*.json")

    monkeypatch.setattr(installed, "_answer", None)
    forbid_computing(monkeypatch)
    installed.prepare(tmp_path)
    assert installed.module_distributions() == first
    assert list(tmp_path.glob("modules-*.json")) == [kept]


def test_installing_a_distribution_changes_the_key(tmp_path, fresh, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    installed.prepare(tmp_path / "cache")
    (site / "newpkg-1.0.dist-info").mkdir()
    monkeypatch.setattr(installed, "_answer", None)
    installed.prepare(tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("modules-*.json"))) == 2


@pytest.mark.parametrize("content", [b"not json", b'{"sklearn": "scikit-learn"}', b"[]"])
def test_a_corrupt_answer_is_computed_again(tmp_path, fresh, monkeypatch, content):
    installed.prepare(tmp_path)
    (kept,) = tmp_path.glob("modules-*.json")
    kept.write_bytes(content)
    monkeypatch.setattr(installed, "_answer", None)
    installed.prepare(tmp_path)
    assert "scikit-learn" in installed.module_distributions()["sklearn"]


def test_without_a_cache_nothing_is_computed_until_needed(fresh, monkeypatch):
    forbid_computing(monkeypatch)
    installed.prepare(None)
    with pytest.raises(AssertionError, match="computed again"):
        installed.module_distributions()


def test_an_unwritable_cache_folder_only_means_computing(tmp_path, fresh):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    installed.prepare(blocker / "lint")
    assert "scikit-learn" in installed.module_distributions()["sklearn"]


def test_lint_keeps_the_answer_in_its_cache_folder(run_cli, tmp_path, fresh, monkeypatch):
    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("pandas\n")
    notebook = project / "nb.ipynb"

    def lint(source: str) -> set[str]:
        notebook.write_text(nbformat.writes(make_notebook(source)))
        result = run_cli("lint", notebook, "--select", "NB207", "--output-format", "json")
        return {d["code"] for d in json.loads(result.stdout)}

    assert lint("import pandas\nimport sklearn") == {"NB207"}
    assert list((tmp_path / "cache" / "lint").glob("modules-*.json"))
    monkeypatch.setattr(installed, "_answer", None)
    forbid_computing(monkeypatch)
    assert lint("import pandas\nimport sklearn  # edited") == {"NB207"}


def test_a_run_served_from_the_cache_prepares_nothing(run_cli, tmp_path, fresh, monkeypatch):
    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("nbprod.lint.cache.RACY_SECONDS", 0)
    (tmp_path / "requirements.txt").write_text("pandas\n")
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(nbformat.writes(make_notebook("import sklearn")))
    first = run_cli("lint", notebook, "--select", "NB207", "--output-format", "json")

    def fail(cache_folder):
        raise AssertionError("prepared")

    monkeypatch.setattr(installed, "prepare", fail)
    monkeypatch.setattr("nbprod.lint.rules.portability.prepare_installed", fail)
    again = run_cli("lint", notebook, "--select", "NB207", "--output-format", "json")
    assert again.stdout == first.stdout and "NB207" in again.stdout
