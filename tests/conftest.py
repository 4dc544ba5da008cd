"""Shared fixtures: an in-memory notebook builder, golden files, a CLI runner, markers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

DATA = Path(__file__).parent / "data"

# pytest's own ``pytester`` fixture, for the tests of the pytest plugin (pytest only accepts
# ``pytest_plugins`` in the top-level conftest).
pytest_plugins = ["pytester"]


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden", action="store_true", help="Rewrite golden files from current output."
    )


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        try:
            rel = Path(item.fspath).relative_to(root)
        except ValueError:
            continue
        if rel.parts and rel.parts[0] == "integration":
            item.add_marker(pytest.mark.integration)
    _apply_xdist_groups(config, items)


def _apply_xdist_groups(config, items) -> None:
    """Give ``xdist_group`` members their ``@group`` node-id suffix under ``--dist loadgroup``.

    pytest-xdist 3.8 appends the suffix by assigning ``item._nodeid``, which pytest 9 no longer
    reads (node ids live in ``item._id``), so groups were silently split across workers.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # an older pytest, where xdist's own suffix works
        return
    for item in items:
        names = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
             for m in item.iter_markers("xdist_group")}
        )
        if names and "@" not in item.nodeid.rsplit("]", 1)[-1]:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


@pytest.fixture(autouse=True)
def _hermetic_config(monkeypatch, tmp_path):
    """Stop config discovery at the test's tmp dir, so the repo's pyproject never leaks in."""
    monkeypatch.setenv("NBPROD_CEILING_DIRECTORIES", str(tmp_path))


def make_notebook(*cells, minor: int = 5, metadata: dict | None = None) -> nbformat.NotebookNode:
    """Build a notebook from cell specs.

    Each spec is a source string (a code cell), or a dict with ``source`` and optionally
    ``cell_type``, ``tags``, ``execution_count``, ``outputs``. Cell ids are deterministic
    (``c1``, ``c2`` ...), so golden files are stable.
    """
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = minor
    nb.metadata = metadata or {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for index, spec in enumerate(cells, start=1):
        if isinstance(spec, str):
            spec = {"source": spec}
        kind = spec.get("cell_type", "code")
        if kind == "code":
            cell = nbformat.v4.new_code_cell(spec["source"])
            cell.execution_count = spec.get("execution_count")
            cell.outputs = [nbformat.from_dict(o) for o in spec.get("outputs", [])]
        elif kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(spec["source"])
        else:
            cell = nbformat.v4.new_raw_cell(spec["source"])
        if spec.get("tags"):
            cell.metadata["tags"] = list(spec["tags"])
        if minor >= 5:
            cell.id = spec.get("id", f"c{index}")
        else:
            cell.pop("id", None)
        nb.cells.append(cell)
    return nb


@pytest.fixture
def notebook_factory(tmp_path):
    """Write a built notebook to tmp_path and return its path: ``notebook_factory('a.ipynb', ...)``."""

    def write(name: str, *cells, **kwargs) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nbformat.writes(make_notebook(*cells, **kwargs)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def golden(request):
    """Compare text with a golden file under tests/data; create it when missing."""

    def check(relative: str, actual: str) -> None:
        path = DATA / relative
        if request.config.getoption("--update-golden") or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
        assert actual == path.read_text(encoding="utf-8"), f"differs from golden file {path}"

    return check


@pytest.fixture
def run_cli(monkeypatch):
    """Invoke the nbprod CLI in-process: ``run_cli('lint', path)`` -> click Result."""
    from nbprod.cli import cli

    runner = CliRunner()

    def invoke(*args, cwd: Path | None = None, input: str | None = None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        return runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


def read_json(text: str):
    return json.loads(text)


os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
