"""Round trip: export, then the generated tests pass, the modules import in a fresh
interpreter and pass ruff, and the step pipeline computes what the notebook computes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nbprod.analysis import mask_ipython
from nbprod.config import load_project_config
from nbprod.notebook import load

REPO = Path(__file__).parents[3]
FIXTURES = REPO / "tests" / "data" / "notebooks" / "export"
EXAMPLES = REPO / "examples"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    # Third-party pytest plugins of this environment are irrelevant to the generated tests
    # and take seconds to load on a busy machine.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def _export(run_cli, notebook: Path) -> list[Path]:
    result = run_cli("export", notebook, "--output-format", "json")
    assert result.exit_code == 0, result.output
    root = load_project_config(notebook).root
    return [root / f["path"] for f in json.loads(result.output)["files"]]


def _notebook_namespace(notebook: Path, cwd: Path, monkeypatch) -> dict:
    """Execute the notebook's code cells top to bottom in one namespace (no kernel)."""
    monkeypatch.chdir(cwd)
    namespace: dict = {"__name__": "__notebook__"}
    for cell in load(notebook).code_cells:
        if "skip" in cell.marks:
            continue
        masked, _magics, _opaque = mask_ipython(cell.source)
        exec(compile(masked, f"<{cell.label}>", "exec"), namespace)
    return namespace


def _import_fresh(module: str, root: Path, monkeypatch):
    """Import a generated module from ``root`` in this process, without leaking it."""
    import importlib

    monkeypatch.syspath_prepend(str(root))
    for name in list(sys.modules):
        if name == module.split(".")[0] or name.startswith(module.split(".")[0] + "."):
            monkeypatch.delitem(sys.modules, name)
    return importlib.import_module(module)


@pytest.fixture
def kale_project(tmp_path):
    shutil.copy(FIXTURES / "kale_pipeline.ipynb", tmp_path)
    return tmp_path / "kale_pipeline.ipynb"


def test_generated_tests_pass_and_modules_import_and_lint(kale_project, run_cli):
    root = kale_project.parent
    files = _export(run_cli, kale_project)
    tests = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "tests/test_kale_pipeline.py"], root)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
    fresh = _run([sys.executable, "-c",
                  "import kale_pipeline, kale_pipeline_pipeline; print('ok')"], root)
    assert fresh.returncode == 0 and fresh.stdout.strip() == "ok", fresh.stderr
    python_files = [str(p) for p in files if p.suffix == ".py"]
    lint = _run([sys.executable, "-m", "ruff", "check", "--isolated", *python_files], root)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_pipeline_values_equal_the_notebook_run_top_to_bottom(kale_project, run_cli,
                                                             monkeypatch, tmp_path_factory):
    root = kale_project.parent
    _export(run_cli, kale_project)
    notebook_dir = tmp_path_factory.mktemp("notebook_run")
    expected = _notebook_namespace(kale_project, notebook_dir, monkeypatch)
    pipeline_dir = tmp_path_factory.mktemp("pipeline_run")
    monkeypatch.chdir(pipeline_dir)
    values = _import_fresh("kale_pipeline_pipeline", root, monkeypatch).run()
    assert set(values) == {"xs", "ys", "mean_y", "slope", "intercept", "residuals"}
    for name, value in values.items():
        assert value == expected[name], name
    report = (pipeline_dir / "report.json").read_bytes()
    assert report == (notebook_dir / "report.json").read_bytes()


def test_examples_round_trip(tmp_path, run_cli, monkeypatch):
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project)
    notebook = project / "notebooks" / "train.ipynb"
    files = _export(run_cli, notebook)
    root = load_project_config(notebook).root
    assert root == project
    tests = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], root)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    python_files = [str(p) for p in files if p.suffix == ".py"]
    lint = _run([sys.executable, "-m", "ruff", "check", "--isolated", *python_files], root)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    pipeline = next(p for p in files if p.name.endswith("_pipeline.py"))
    module = ".".join(pipeline.relative_to(root).with_suffix("").parts)
    fresh = _run([sys.executable, "-c", f"import {module}"], root)
    assert fresh.returncode == 0, fresh.stderr
    # The notebook reads its data relative to its own folder; so does the pipeline's run().
    expected = _notebook_namespace(notebook, notebook.parent, monkeypatch)
    values = _import_fresh(module, root, monkeypatch).run()
    assert values["frame"].equals(expected["frame"])
    assert values["y_test"].equals(expected["y_test"])
    assert list(values["model"].predict(expected["features"](values["x_test"]))) == list(
        expected["predictions"])
