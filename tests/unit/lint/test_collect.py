"""Which notebooks a folder given to ``nbprod lint`` stands for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nbprod.lint as lint_module
from nbprod.errors import NotebookError
from nbprod.lint import collect_notebooks


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


def found(root: Path, *paths: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in collect_notebooks(paths or [root])]


def test_a_folder_stands_for_its_notebooks_in_sorted_order(tmp_path):
    touch(tmp_path, "b.ipynb", "a/z.ipynb", "a/b/c.ipynb", "a.ipynb", "notes.txt", "x.py")
    assert found(tmp_path) == ["a/b/c.ipynb", "a/z.ipynb", "a.ipynb", "b.ipynb"]


def test_tools_folders_and_environments_are_neither_linted_nor_walked(tmp_path, monkeypatch):
    touch(tmp_path, "keep.ipynb", ".git/objects/x.ipynb", ".ipynb_checkpoints/k-checkpoint.ipynb",
          "web/node_modules/pkg/demo.ipynb", "lib/site-packages/pkg/demo.ipynb",
          "__pypackages__/3.11/lib/demo.ipynb", "venv/pyvenv.cfg", "venv/lib/demo.ipynb",
          "env/conda-meta/history", "env/share/demo.ipynb", ".hidden.ipynb")
    entered = []
    walk = lint_module._notebooks_in
    monkeypatch.setattr(lint_module, "_notebooks_in",
                        lambda folder: entered.append(Path(folder).name) or walk(folder))

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
