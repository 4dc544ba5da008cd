"""Which notebooks a folder given to ``nbprod lint`` stands for."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook

import nbprod.lint as lint_module
from nbprod import gitignore
from nbprod.errors import NotebookError
from nbprod.lint import collect_notebooks


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


def found(root: Path, *paths: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in collect_notebooks(paths or [root])]


@pytest.fixture
def entered(monkeypatch) -> list[str]:
    """The names of the folders the search lists, in the order it lists them."""
    names: list[str] = []
    walk = lint_module._Search.notebooks_in

    def recording(search, folder):
        names.append(Path(folder).name)
        return walk(search, folder)

    monkeypatch.setattr(lint_module._Search, "notebooks_in", recording)
    return names


def test_a_folder_stands_for_its_notebooks_in_sorted_order(tmp_path):
    touch(tmp_path, "b.ipynb", "a/z.ipynb", "a/b/c.ipynb", "a.ipynb", "notes.txt", "x.py")
    assert found(tmp_path) == ["a/b/c.ipynb", "a/z.ipynb", "a.ipynb", "b.ipynb"]


def test_tools_folders_and_environments_are_neither_linted_nor_walked(tmp_path, entered):
    touch(tmp_path, "keep.ipynb", ".git/objects/x.ipynb", ".ipynb_checkpoints/k-checkpoint.ipynb",
          "web/node_modules/pkg/demo.ipynb", "lib/site-packages/pkg/demo.ipynb",
          "__pypackages__/3.11/lib/demo.ipynb", "venv/pyvenv.cfg", "venv/lib/demo.ipynb",
          "env/conda-meta/history", "env/share/demo.ipynb", ".hidden.ipynb")

    assert found(tmp_path) == [".hidden.ipynb", "keep.ipynb"]
    assert sorted(entered) == sorted([tmp_path.name, "web", "lib"])


def test_a_skipped_folder_named_on_the_command_line_is_linted(tmp_path):
    touch(tmp_path, "venv/pyvenv.cfg", "venv/lib/demo.ipynb", ".drafts/a.ipynb")
    assert found(tmp_path, tmp_path / "venv", tmp_path / ".drafts") == [
        "venv/lib/demo.ipynb", ".drafts/a.ipynb"]


def test_links_to_notebooks_count_and_links_to_folders_are_not_followed(tmp_path):
    touch(tmp_path, "data/a.ipynb", "elsewhere/b.ipynb")
    (tmp_path / "data" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "data" / "other").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "data" / "link.ipynb").symlink_to(tmp_path / "elsewhere" / "b.ipynb")
    assert [p.name for p in collect_notebooks([tmp_path / "data"])] == ["a.ipynb", "link.ipynb"]


def test_links_that_lead_nowhere_or_round_in_a_loop_are_passed_over(tmp_path):
    touch(tmp_path, "a.ipynb")
    (tmp_path / "loop.ipynb").symlink_to(tmp_path / "loop.ipynb")
    (tmp_path / "gone.ipynb").symlink_to(tmp_path / "missing.ipynb")
    assert found(tmp_path) == ["a.ipynb"]


def test_a_folder_named_like_a_notebook_is_searched(tmp_path):
    touch(tmp_path, "old.ipynb/inner.ipynb")
    assert found(tmp_path) == ["old.ipynb/inner.ipynb"]


def test_a_folder_that_cannot_be_listed_is_passed_over(tmp_path, monkeypatch):
    touch(tmp_path, "a.ipynb", "locked/b.ipynb")
    scandir = os.scandir

    def refuse_locked(folder):
        if Path(folder).name == "locked":
            raise PermissionError(13, "Permission denied", folder)
        return scandir(folder)

    monkeypatch.setattr(lint_module.os, "scandir", refuse_locked)
    assert found(tmp_path) == ["a.ipynb"]


def test_a_missing_path_or_a_folder_named_as_a_notebook_is_an_error(tmp_path):
    (tmp_path / "dir.ipynb").mkdir()
    with pytest.raises(NotebookError, match="no such file or folder"):
        collect_notebooks([tmp_path / "missing.ipynb"])
    with pytest.raises(NotebookError, match="is a folder, not a notebook file"):
        collect_notebooks([tmp_path / "dir.ipynb"])


def test_exclude_patterns_match_the_relative_path_a_folder_or_a_name(tmp_path, entered):
    touch(tmp_path, "keep.ipynb", "archive/old.ipynb", "deep/archive/old.ipynb",
          "scratch/a.ipynb", "scratch/sub/b.ipynb", "ideas-draft.ipynb", "x/ideas-draft.ipynb",
          "notes/scratch/c.ipynb")
    patterns = ("archive", "/never", "scratch/*.ipynb", "*-draft.ipynb")

    kept = collect_notebooks([tmp_path], patterns, tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in kept] == [
        "keep.ipynb", "notes/scratch/c.ipynb"]  # "*" matches across "/": scratch/sub/ too
    assert "archive" not in entered  # an excluded folder is never walked


def test_folders_above_the_project_are_not_matched(tmp_path):
    touch(tmp_path, "archive/project/a.ipynb", "archive/other/b.ipynb")
    project = tmp_path / "archive" / "project"
    assert collect_notebooks([project, tmp_path / "archive" / "other"], ("archive",),
                             project) == [project / "a.ipynb", tmp_path / "archive/other/b.ipynb"]
    assert collect_notebooks([project / "a.ipynb"], ("a.ipynb",), tmp_path / "elsewhere") == []


def test_exclude_applies_to_notebooks_named_on_the_command_line(tmp_path):
    touch(tmp_path, "keep.ipynb", "archive/old.ipynb")
    named = [tmp_path / "keep.ipynb", tmp_path / "archive" / "old.ipynb", tmp_path / "archive"]
    assert collect_notebooks(named, ("archive",), tmp_path) == [tmp_path / "keep.ipynb"]
    assert not lint_module.excluded(tmp_path / "archive", ("archive",), tmp_path / "archive")


def test_lint_reads_exclude_from_the_project(run_cli, tmp_path):
    touch(tmp_path, "keep.ipynb", "archive/old.ipynb")
    for name in ("keep.ipynb", "archive/old.ipynb"):
        (tmp_path / name).write_text(nbformat.writes(make_notebook("print(undefined)")))
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.lint]\nexclude = ["archive"]\n')

    result = run_cli("lint", "--output-format", "json", "--no-cache", cwd=tmp_path)

    assert {Path(d["filename"]).name for d in json.loads(result.stdout)} == {"keep.ipynb"}
    assert result.exit_code == 1
    more = run_cli("lint", "--output-format", "json", "--no-cache", "--extend-exclude",
                   "keep.ipynb,other", cwd=tmp_path)
    assert json.loads(more.stdout) == [] and more.exit_code == 0
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.lint]\nexclude = "archive"\n')
    refused = run_cli("lint", cwd=tmp_path)
    assert refused.exit_code == 2 and "exclude" in refused.output


def test_a_notebook_named_but_excluded_is_said_to_be_not_linted(run_cli, tmp_path):
    touch(tmp_path, "keep.ipynb", "archive/old.ipynb")
    (tmp_path / "keep.ipynb").write_text(nbformat.writes(make_notebook("x = 1")))
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.lint]\nexclude = ["archive"]\n')

    result = run_cli("lint", "archive/old.ipynb", "keep.ipynb", "--extend-exclude", "kee*",
                     "--output-format", "json", "--no-cache", cwd=tmp_path)

    assert json.loads(result.stdout) == []
    assert result.stderr.splitlines() == [
        "warning: archive/old.ipynb: not linted, it matches the pattern 'archive' of"
        " `exclude` in pyproject.toml",
        "warning: keep.ipynb: not linted, it matches the pattern 'kee*' of --extend-exclude",
    ]
    searched = run_cli("lint", "--output-format", "json", "--no-cache", cwd=tmp_path)
    assert searched.stderr == ""  # found by a search, an excluded notebook is not mentioned


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_what_git_ignores_is_left_out_of_a_folder_search(tmp_path, entered):
    touch(tmp_path, "keep.ipynb", "outputs/run-1.ipynb", "notes.scratch.ipynb",
          "sub/keep.ipynb", "sub/local/x.ipynb", "forced/kept.ipynb")
    (tmp_path / ".gitignore").write_text("outputs/\n*.scratch.ipynb\nforced/\n")
    (tmp_path / "sub" / ".gitignore").write_text("local/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-f", "forced/kept.ipynb")  # tracked: never ignored

    kept = [p.relative_to(tmp_path).as_posix()
            for p in collect_notebooks([tmp_path], gitignore=True)]
    assert kept == ["forced/kept.ipynb", "keep.ipynb", "sub/keep.ipynb"]
    assert "outputs" not in entered and "local" not in entered
    # Without it, or for a notebook named, git is not asked.
    assert len(collect_notebooks([tmp_path])) == 6
    named = tmp_path / "outputs" / "run-1.ipynb"
    assert collect_notebooks([named], gitignore=True) == [named]


def test_what_a_nested_repository_ignores_is_left_out_too(tmp_path):
    # A repository inside the one searched (a submodule, a vendored clone), and a folder of
    # clones that is no repository itself: each one's own .gitignore applies to its files.
    touch(tmp_path, "top/keep.ipynb", "top/outputs/run.ipynb", "top/vendor/lib/keep.ipynb",
          "top/vendor/lib/a.scratch.ipynb", "clones/one/keep.ipynb", "clones/one/tmp/x.ipynb")
    (tmp_path / "top" / ".gitignore").write_text("outputs/\n")
    (tmp_path / "top" / "vendor" / "lib" / ".gitignore").write_text("*.scratch.ipynb\n")
    (tmp_path / "clones" / "one" / ".gitignore").write_text("tmp/\n")
    for repository in ("top", "top/vendor/lib", "clones/one"):
        git(tmp_path / repository, "init", "-q")

    def kept(folder):
        return [p.relative_to(tmp_path).as_posix()
                for p in collect_notebooks([tmp_path / folder], gitignore=True)]

    assert kept("top") == ["top/keep.ipynb", "top/vendor/lib/keep.ipynb"]
    assert kept("clones") == ["clones/one/keep.ipynb"]


def test_outside_a_git_work_tree_nothing_is_left_out(tmp_path, monkeypatch):
    touch(tmp_path, "a.ipynb", "outputs/b.ipynb")
    (tmp_path / ".gitignore").write_text("outputs/\n")
    monkeypatch.setattr(gitignore, "git_work_tree", lambda folder: None)
    assert found(tmp_path) == ["a.ipynb", "outputs/b.ipynb"]
    assert len(collect_notebooks([tmp_path], gitignore=True)) == 2


def test_lint_respects_gitignore_unless_told_not_to(run_cli, tmp_path):
    for name in ("keep.ipynb", "outputs/run.ipynb"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(nbformat.writes(make_notebook("print(undefined)")))
    (tmp_path / ".gitignore").write_text("outputs/\n")
    git(tmp_path, "init", "-q")

    def linted() -> set[str]:
        result = run_cli("lint", "--output-format", "json", "--no-cache", cwd=tmp_path)
        return {Path(d["filename"]).as_posix() for d in json.loads(result.stdout)}

    assert linted() == {"keep.ipynb"}
    (tmp_path / "pyproject.toml").write_text("[tool.nbprod.lint]\nrespect-gitignore = false\n")
    assert linted() == {"keep.ipynb", "outputs/run.ipynb"}


def test_show_files_lists_what_would_be_linted_and_lints_nothing(run_cli, tmp_path):
    touch(tmp_path, "b.ipynb", "a.ipynb", "archive/old.ipynb", "sub/c.ipynb")
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.lint]\nexclude = ["archive"]\n')

    listed = run_cli("lint", "--show-files", "--no-cache", cwd=tmp_path)
    assert listed.exit_code == 0  # the files are empty: linted, they could not be read
    assert listed.stdout.splitlines() == ["a.ipynb", "b.ipynb", "sub/c.ipynb"]
    as_json = run_cli("lint", "--show-files", "archive/old.ipynb", "sub", "--output-format",
                      "json", cwd=tmp_path)
    assert json.loads(as_json.stdout) == ["sub/c.ipynb"]
    assert as_json.stderr.startswith("warning: archive/old.ipynb: not linted")
