"""The cache key cannot miss a change: each kind of change reruns exactly the steps it
affects and their downstream steps; with no change everything is cached, and what the cache
restores equals a fresh run.

The second test proves the first can fail: with one part left out of the key, the change
that part covers goes unseen (the step would be restored stale), for each of the seven kinds.
"""

from __future__ import annotations

import json
import pickle

import pytest

from nbprod.pipeline import cache as cache_module
from nbprod.pipeline import orchestrate as run_module
from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import NOTEBOOK_PIPELINE, write_notebook

pytestmark = pytest.mark.xdist_group("pipeline-property")

STEP_CELLS = {
    "load": "rows = open('data.csv').read().split()",
    "features": "feats = [helper(len(r)) for r in rows]",
    "model": "total = sum(feats) * scale + mylib.bonus()",
    "report": "summary = f'total={total}'",
}
HELPERS = "import mylib\n\ndef helper(x):\n    return x * 2\n\ndef unused():\n    return 0"


def _write_flow(root, *, helpers=HELPERS, cells=STEP_CELLS):
    write_notebook(
        root / "flow.ipynb",
        {"source": "scale: int = 2", "tags": ["parameters"]},
        {"source": helpers, "tags": ["export"]},
        *[{"source": code, "tags": [f"step:{name}"]} for name, code in cells.items()],
    )


def _make_project(root):
    """A project with both kinds of pipeline: step cells of flow.ipynb, and pyproject's."""
    (root / "pyproject.toml").write_text('[project]\nname = "flow"\n' + NOTEBOOK_PIPELINE)
    (root / "data.csv").write_text("a bb ccc\n")
    (root / "mylib.py").write_text("def bonus():\n    return 10\n")
    (root / "raw.txt").write_text("a b c\n")
    _write_flow(root)
    write_notebook(
        root / "prepare.ipynb", {"source": "upper: bool = True", "tags": ["parameters"]},
        "import os\nos.makedirs('data', exist_ok=True)\n"
        "text = open('notes.txt').read() + open('raw.txt').read()\n"  # notes.txt: undeclared
        "open('data/clean.txt', 'w').write(text.upper() if upper else text)")
    (root / "notes.txt").write_text("x\n")
    write_notebook(root / "train.ipynb", {"source": "scale: int = 1", "tags": ["parameters"]},
                   "words = open('data/clean.txt').read().split()")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return _make_project(tmp_path_factory.mktemp("property"))


@pytest.fixture(scope="module")
def cli(project):
    from click.testing import CliRunner

    from nbprod.cli import cli as group

    def call(*args):
        result = CliRunner().invoke(group, [*map(str, args)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return call


@pytest.fixture(scope="module")
def baseline(project, cli):
    import os

    old = os.getcwd()
    os.chdir(project)
    try:
        fresh = json.loads(cli("pipeline", "run", "flow.ipynb", "--max-parallel", "1",
                               "--output-format", "json"))
        cli("pipeline", "run", "--max-parallel", "1")
        yield fresh
    finally:
        os.chdir(old)


def _would_run(cli, *args):
    states = json.loads(cli("pipeline", "status", *args, "--output-format", "json"))
    return {s["name"] for s in states if not s["cached"]}


def _change_flow_cell(project, cells=None, helpers=HELPERS):
    _write_flow(project, helpers=helpers, cells=cells or STEP_CELLS)


CHANGES = {
    # kind: (apply, revert, pipeline args, steps that must rerun)
    "step code": (
        lambda p: _change_flow_cell(p, cells={**STEP_CELLS, "report": "summary = f'{total}!'"}),
        lambda p: _change_flow_cell(p), ("flow.ipynb",), {"report"}),
    "helper in an export cell": (
        lambda p: _change_flow_cell(p, helpers=HELPERS.replace("x * 2", "x * 3")),
        lambda p: _change_flow_cell(p), ("flow.ipynb",), {"features", "model", "report"}),
    "local module": (
        lambda p: (p / "mylib.py").write_text("def bonus():\n    return 11\n"),
        lambda p: (p / "mylib.py").write_text("def bonus():\n    return 10\n"),
        ("flow.ipynb",), {"model", "report"}),
    "parameter": (lambda p: None, lambda p: None, ("flow.ipynb", "-p", "scale", "3"),
                  {"model", "report"}),
    "data read by a function step": (
        lambda p: (p / "data.csv").write_text("a bb cccc\n"),
        lambda p: (p / "data.csv").write_text("a bb ccc\n"),
        ("flow.ipynb",), {"load", "features", "model", "report"}),
    "data read by a notebook step": (
        lambda p: (p / "notes.txt").write_text("y\n"),
        lambda p: (p / "notes.txt").write_text("x\n"), (), {"prepare", "train"}),
    "installed package version": (
        lambda p: _install_fake(p, "2.0"), lambda p: _install_fake(p, None),
        ("flow.ipynb",), {"load", "features", "model", "report"}),
}

#: How to leave each kind's part out of the key (what a buggy key would forget).
DISABLE = {
    "step code": ("_code_hash", lambda self, name: "same"),
    "helper in an export cell": ("_reached_code", lambda self, name: {}),
    "local module": ("_reached_code", lambda self, name: {}),
    "parameter": ("_parameters_hash", lambda self, name: "same"),
    "data read by a function step": ("_input_hashes", lambda self, name, latest: {}),
    "data read by a notebook step": ("_input_hashes", lambda self, name, latest: {}),
    "installed package version": ("environment_fingerprint", lambda: "same"),
}


def _install_fake(project, version):
    """A distribution 'fakepkg' at ``version`` on sys.path (None: not installed)."""
    import sys

    site = project.parent / f"{project.name}-site"
    site.mkdir(exist_ok=True)
    for old in site.glob("fakepkg-*.dist-info"):
        old.rmdir()
    if version:
        (site / f"fakepkg-{version}.dist-info").mkdir()
    if str(site) not in sys.path:
        sys.path.append(str(site))
    cache_module.environment_fingerprint.cache_clear()


@pytest.mark.parametrize("kind", list(CHANGES))
def test_a_change_reruns_exactly_what_it_affects(project, cli, baseline, kind):
    apply, revert, args, expected = CHANGES[kind]
    assert _would_run(cli, *args[:1]) == set()  # the baseline: everything cached
    apply(project)
    try:
        assert _would_run(cli, *args) == expected
    finally:
        revert(project)
    assert _would_run(cli, *args[:1]) == set()


@pytest.mark.parametrize("kind", list(CHANGES))
def test_the_check_fails_when_the_key_leaves_that_kind_out(tmp_path, cli, kind, monkeypatch):
    apply, revert, args, expected = CHANGES[kind]
    attribute, stub = DISABLE[kind]
    if attribute == "environment_fingerprint":
        monkeypatch.setattr(run_module, attribute, stub)
    else:
        monkeypatch.setattr(run_module.PipelineRunner, attribute, stub)
    # A key without that part, from the first run on, as a buggy nbprod would store it.
    project = _make_project(tmp_path)
    monkeypatch.chdir(project)
    cli("pipeline", "run", *args[:1], "--max-parallel", "1")
    assert _would_run(cli, *args[:1]) == set()
    apply(project)
    try:
        assert _would_run(cli, *args) != expected  # the stale result would be restored
    finally:
        revert(project)


def test_no_change_is_all_cached_and_restores_the_fresh_values(project, cli, baseline):
    cached = json.loads(cli("pipeline", "run", "flow.ipynb", "--max-parallel", "1",
                            "--output-format", "json"))
    assert {s["status"] for s in cached["steps"]} == {"cached"}
    forced = json.loads(cli("pipeline", "run", "flow.ipynb", "--max-parallel", "1",
                            "--force", "--output-format", "json"))
    assert {s["status"] for s in forced["steps"]} == {"succeeded"}
    store = open_project_store(project)

    def values(result):
        out = {}
        for step in result["steps"]:
            receipt = store.get_run(step["run_id"])
            for name, digest in receipt["pipeline"]["values"].items():
                out[name] = pickle.loads(store.objects.path_for(digest).read_bytes())
        return out

    assert values(cached) == values(forced) == values(baseline)
    assert values(forced)["total"] == (2 + 4 + 6) * 2 + 10
