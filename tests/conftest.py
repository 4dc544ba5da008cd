"""Shared fixtures: an in-memory notebook builder, golden files, a CLI runner, markers."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from notebook_builder import make_notebook

DATA = Path(__file__).parent / "data"

# Golden files include generated test modules; they are data, not tests of this project.
collect_ignore = ["data"]

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
def _hermetic_config(monkeypatch, tmp_path, tmp_path_factory):
    """Stop config discovery at the test's tmp dir, so the repo's pyproject never leaks in,
    and give each test its own lint cache, outside its tmp dir (tests check that linting
    writes nothing there) and outside the user's home."""
    monkeypatch.setenv("NBPROD_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path_factory.mktemp("nbprod-cache")))


@pytest.fixture
def notebook_factory(tmp_path):
    """Write a built notebook into tmp_path: ``notebook_factory('a.ipynb', *cells)`` -> path."""

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
# Servers and clusters that fixtures start for a whole module or session keep their lint
# cache here rather than in the user's home (each test then gets its own, see above).
os.environ.setdefault("NBPROD_CACHE_DIR", tempfile.mkdtemp(prefix="nbprod-test-cache-"))
