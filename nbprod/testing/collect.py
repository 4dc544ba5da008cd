"""pytest collection: one ``NotebookFile`` per ``.ipynb``, holding one ``NotebookItem``.

One item per notebook (not per cell, as nbval does) because cells share one kernel: the
notebook is the unit that passes or fails, and pytest-xdist spreads notebooks over workers.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from ..errors import NbprodError, NbprodWarning
from ..fsutil import TEMP_PREFIX
from ..gitignore import git_ignored, git_work_tree
from ..notebook import load
from .config import TestConfig, load_test_config
from .execute import CellProblem, check_notebook
from .report import format_problems

__all__ = ["NotebookFile", "NotebookItem", "collect_notebook"]

_CONFIGS = pytest.StashKey[dict]()
_GIT_IGNORED = pytest.StashKey[dict]()
_NAMED = pytest.StashKey[frozenset]()


def collect_notebook(path: Path, parent: pytest.Collector) -> NotebookFile | None:
    """The collector for ``path``, or ``None`` for files nbprod never tests.

    Temporary files of interrupted atomic writes, notebooks matching ``exclude`` in
    ``[tool.nbprod.test]``, and notebooks git ignores that were found in a folder rather than
    named (executed copies, downloads: ``nbprod lint`` leaves them out too) are left out.
    """
    if path.name.startswith(TEMP_PREFIX) or ".ipynb_checkpoints" in path.parts:
        return None
    if _ignored_by_git(path, parent.config):
        return None
    try:
        config, root = _config_for(path, parent.config)
    except NbprodError:
        return NotebookFile.from_parent(parent, path=path)  # collect() reports the error
    if config.excludes(path, root):
        return None
    return NotebookFile.from_parent(parent, path=path)


def _ignored_by_git(path: Path, pytest_config: pytest.Config) -> bool:
    """Whether git ignores ``path`` (or a folder it is in) and it was not named on the
    command line. git is asked once per repository (``nbprod.gitignore``)."""
    notebook = os.path.abspath(path)
    if notebook in _named(pytest_config):
        return False
    top = git_work_tree(os.path.dirname(notebook))
    if top is None:
        return False
    answers = pytest_config.stash.setdefault(_GIT_IGNORED, {})
    if top not in answers:
        answers[top] = git_ignored(top) or frozenset()
    ignored = answers[top]
    current = notebook
    while len(current) > len(top):
        if current in ignored:
            return True
        current = os.path.dirname(current)
    return False


def _named(pytest_config: pytest.Config) -> frozenset[str]:
    """The absolute paths named on the command line, worked out once per session."""
    named = pytest_config.stash.get(_NAMED, None)
    if named is None:
        where = pytest_config.invocation_params.dir
        named = pytest_config.stash[_NAMED] = frozenset(
            os.path.abspath(os.path.join(where, str(arg).split("::")[0]))
            for arg in pytest_config.args)
    return named


def _config_for(path: Path, pytest_config: pytest.Config) -> tuple[TestConfig, Path]:
    """``[tool.nbprod.test]`` for the notebook's project, command-line options applied.

    Cached per folder: every notebook of a folder shares its nearest pyproject.toml.
    """
    cache = pytest_config.stash.setdefault(_CONFIGS, {})
    folder = path.parent
    if folder not in cache:
        option = pytest_config.option
        mode = "compare" if option.nbprod_compare else option.nbprod_mode
        cache[folder] = load_test_config(
            folder, mode=mode, timeout=option.nbprod_timeout, kernel=option.nbprod_kernel
        )
    return cache[folder]


class NotebookFile(pytest.File):
    """A notebook file; collecting it reads the configuration and checks that the file is a
    notebook at all.

    A file that is not a readable notebook (bad JSON, not nbformat, a FIFO...) is a
    collection error, which pytest reports apart from failed tests and with its own exit
    status (2, "interrupted"), as it does for a test module that does not import: CI can
    tell "this is not a notebook" from "this notebook fails". The notebook is read again
    when it runs, so collecting thousands of notebooks keeps none of them in memory.
    """

    def collect(self):
        try:
            config, root = _config_for(self.path, self.config)
            with warnings.catch_warnings():
                # Repairs made in memory are reported when the notebook runs, not twice.
                warnings.simplefilter("ignore", NbprodWarning)
                load(self.path)
        except NbprodError as exc:
            raise self.CollectError(f"error: {exc}") from None
        item = NotebookItem.from_parent(self, name=config.mode, test_config=config, root=root)
        item.add_marker(pytest.mark.nbprod)
        yield item


class NotebookFailed(Exception):
    """Raised by a notebook item whose run found problems; pytest shows ``problems``."""

    def __init__(self, problems: list[CellProblem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


class NotebookItem(pytest.Item):
    """Runs one notebook top to bottom in a fresh kernel, in run or compare mode."""

    def __init__(self, *, test_config: TestConfig, root: Path, **kwargs):
        super().__init__(**kwargs)
        self.test_config = test_config
        self.root = root

    def runtest(self) -> None:
        if (self.path.parent / ".notest").exists():
            # nbdev's way of keeping a folder's notebooks out of `nbdev_test`.
            pytest.skip("a .notest file beside it (nbdev)")
        try:
            nb = load(self.path)
        except NbprodError as exc:
            raise NotebookFailed([CellProblem("setup", str(exc))]) from None
        outcome = check_notebook(
            nb,
            self.test_config,
            parameters=self.test_config.parameters_for(self.path, self.root),
            cwd=self.path.parent,
        )
        self.user_properties.append(("cells_executed", outcome.executed))
        self.user_properties.append(("cells_compared", outcome.compared))
        self.user_properties.append(("cells_skipped", len(outcome.skipped)))
        if outcome.problems:
            report_dir = self.config.option.nbprod_report
            if report_dir and outcome.notebook is not None:
                from .page import write_failure_page

                page = write_failure_page(Path(report_dir), self._where(), outcome,
                                          self.test_config.parameters_for(self.path, self.root))
                self.user_properties.append(("nbprod_report", str(page)))
            raise NotebookFailed(outcome.problems)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, NotebookFailed):
            return format_problems(self._where(), excinfo.value.problems)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self._where()}::{self.name}"

    def _where(self) -> str:
        try:
            return self.path.relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return str(self.path)
