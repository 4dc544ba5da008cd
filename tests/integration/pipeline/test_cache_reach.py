"""A step's cache key covers what its code reaches: helpers in export cells, local modules,
and the data files a function step reads. Each change reruns the steps it affects, no more."""

from __future__ import annotations

import json

import pytest

from tests.integration.pipeline.conftest import write_notebook

pytestmark = pytest.mark.xdist_group("pipeline-reach")


def _notebook(root, helper_body="return x + 1"):
    return write_notebook(
        root / "flow.ipynb",
        {"source": "path: str = 'data.csv'", "tags": ["parameters"]},
        {"source": f"import mylib\n\ndef helper(x):\n    {helper_body}", "tags": ["export"]},
        {"source": "rows = open(path).read().split()", "tags": ["step:load"]},
        {"source": "total = helper(len(rows)) + mylib.bonus()", "tags": ["step:total"]},
    )


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "flow"\n')
    (tmp_path / "data.csv").write_text("a\nb\nc\n")
    (tmp_path / "mylib.py").write_text("def bonus():\n    return 10\n")
    _notebook(tmp_path)
    return tmp_path


def _status(run_cli, root):
    result = run_cli("pipeline", "status", "flow.ipynb", "--output-format", "json", cwd=root)
    assert result.exit_code == 0, result.output
    return {s["name"]: s["reason"] for s in json.loads(result.stdout)}


def _run(run_cli, root):
    result = run_cli("pipeline", "run", "flow.ipynb", "--max-parallel", "1",
                     "--output-format", "json", cwd=root)
    assert result.exit_code == 0, result.output
    return {s["name"]: s["status"] for s in json.loads(result.stdout)["steps"]}


def test_each_kind_of_change_reruns_exactly_the_steps_it_reaches(project, run_cli):
    assert _run(run_cli, project) == {"load": "succeeded", "total": "succeeded"}
    assert _status(run_cli, project) == {"load": None, "total": None}
    assert _run(run_cli, project) == {"load": "cached", "total": "cached"}

    # A data file a function step read (seen while it ran, never declared).
    (project / "data.csv").write_text("a\nb\nc\nd\n")
    reasons = _status(run_cli, project)
    assert reasons["load"] == "input data.csv changed"
    assert reasons["total"] == "upstream step 'load' will run"
    assert _run(run_cli, project) == {"load": "succeeded", "total": "succeeded"}

    # A helper in an export cell, which the step module imports from the exported module.
    _notebook(project, helper_body="return x + 2")
    reasons = _status(run_cli, project)
    assert reasons == {"load": None, "total": "`helper` in flow.flow changed"}
    assert _run(run_cli, project) == {"load": "cached", "total": "succeeded"}

    # A local module the exported code imports.
    (project / "mylib.py").write_text("def bonus():\n    return 20\n")
    reasons = _status(run_cli, project)
    assert reasons == {"load": None, "total": "module mylib changed"}
    assert _run(run_cli, project) == {"load": "cached", "total": "succeeded"}
    assert _status(run_cli, project) == {"load": None, "total": None}


def test_a_helper_change_shows_in_the_result(project, run_cli):
    from nbprod.store import open_project_store

    _run(run_cli, project)
    _notebook(project, helper_body="raise RuntimeError('helper changed')")
    result = run_cli("pipeline", "run", "flow.ipynb", "--max-parallel", "1", cwd=project)
    assert result.exit_code == 1, result.output  # not "cached": the new helper ran, and raised
    assert "helper changed" in result.output
    store = open_project_store(project)
    assert store.list_runs(kind="pipeline")[0]["status"] == "failed"


def test_a_step_that_runs_processes_reruns_unless_pinned(tmp_path, run_cli):
    """What a subprocess reads is invisible to the capture: such a step is never restored
    from the cache on its key alone, unless the user pins it."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "flow"\n')
    (tmp_path / "data.csv").write_text("a\nb\n")
    write_notebook(
        tmp_path / "flow.ipynb",
        {"source": "import subprocess\nrows = subprocess.run(['cat', 'data.csv'],"
                   " capture_output=True, text=True).stdout.split()", "tags": ["step:load"]},
        {"source": "count = len(rows)", "tags": ["step:count"]},
    )
    assert _run(run_cli, tmp_path) == {"load": "succeeded", "count": "succeeded"}
    reasons = _status(run_cli, tmp_path)
    assert reasons["load"].startswith(
        "its inputs cannot all be known: it started a process (subprocess.Popen)")
    assert reasons["count"] == "upstream step 'load' will run"
    # Not restored stale; what it made did not change, so count is cached on its content.
    assert _run(run_cli, tmp_path) == {"load": "succeeded", "count": "cached"}
    (tmp_path / "data.csv").write_text("a\nb\nc\n")  # read by cat: no hook sees it
    assert _run(run_cli, tmp_path) == {"load": "succeeded", "count": "succeeded"}

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "flow"\n\n[tool.nbprod.pipeline]\npinned = ["load"]\n')
    # Pinned, load is cached on its key; count once more, as load's key now stands for it.
    assert _run(run_cli, tmp_path) == {"load": "cached", "count": "succeeded"}
    assert _status(run_cli, tmp_path) == {"load": None, "count": None}
    assert _run(run_cli, tmp_path) == {"load": "cached", "count": "cached"}


def test_a_notebook_step_with_shell_lines_is_opaque(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "files"\n\n[tool.nbprod.pipeline]\nname = "files"\n\n'
        '[[tool.nbprod.pipeline.steps]]\nname = "shell"\nnotebook = "shell.ipynb"\n')
    write_notebook(tmp_path / "shell.ipynb", "lines = !cat pyproject.toml\nn = len(lines)")
    result = run_cli("pipeline", "run", "--max-parallel", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    result = run_cli("pipeline", "status", "--output-format", "json", cwd=tmp_path)
    (state,) = json.loads(result.stdout)
    assert state["reason"].startswith("its inputs cannot all be known: it runs shell commands")


def test_a_module_imported_inside_a_step_cell_is_in_its_key(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "flow"\n')
    (tmp_path / "mylib.py").write_text("def g(x):\n    return x + 1\n")
    write_notebook(
        tmp_path / "flow.ipynb",
        {"source": "k: int = 1", "tags": ["parameters"]},
        {"source": "from mylib import g\ny = g(k)", "tags": ["step:one"]},
        {"source": "z = y * 2", "tags": ["step:two"]},
    )
    assert _run(run_cli, tmp_path) == {"one": "succeeded", "two": "succeeded"}
    (tmp_path / "mylib.py").write_text("def g(x):\n    return x + 100\n")
    assert _status(run_cli, tmp_path) == {"one": "`g` in mylib changed",
                                          "two": "upstream step 'one' will run"}


def test_a_module_beside_a_notebook_step_is_in_its_key(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "flow"\n\n[tool.nbprod.pipeline]\nname = "flow"\n\n'
        '[[tool.nbprod.pipeline.steps]]\nname = "a"\nnotebook = "notebooks/a.ipynb"\n')
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "helpers.py").write_text("def f():\n    return 1\n")
    write_notebook(tmp_path / "notebooks" / "a.ipynb", "from helpers import f\nvalue = f()")
    result = run_cli("pipeline", "run", "--max-parallel", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    (tmp_path / "notebooks" / "helpers.py").write_text("def f():\n    return 2\n")
    result = run_cli("pipeline", "status", "--output-format", "json", cwd=tmp_path)
    (state,) = json.loads(result.stdout)
    assert state["reason"] == "`f` in helpers changed"
