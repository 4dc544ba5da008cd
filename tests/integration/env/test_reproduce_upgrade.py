"""A small local package in two versions, served from a folder of wheels with no network:
a run made with version 1 reproduces in isolation; with ``--upgrade`` to version 2, which
removed a function the notebook calls, the reproduce names the cell that breaks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook

from tests.integration.env.conftest import Cli
from tests.integration.env.wheels import kernel_wheelhouse, source_wheel

pytestmark = pytest.mark.xdist_group("isolated-upgrade")

V1 = "def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return 3 * x\n"
V2 = "def double(x):\n    return 2 * x\n"  # triple() is gone


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Cli:
    """The CLI with a uv cache of its own: every wheel here is made by this pytest run."""
    home = tmp_path_factory.mktemp("upgrade")
    return Cli(home, uv_cache=str(home / "uv"))


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    kernel_wheelhouse(folder)
    source_wheel(folder, "calcpkg", "1.0", {"calcpkg/__init__.py": V1})
    source_wheel(folder, "calcpkg", "2.0", {"calcpkg/__init__.py": V2})
    return folder


def _kernel_with_v1(cli, wheelhouse: Path, home: Path) -> str:
    """A venv with calcpkg 1.0 and ipykernel, from the wheel folder only, as kernel calc-v1."""
    from nbprod.env.uv import uv_binary

    venv = home / "v1"
    for args in (["venv", "-q", "--python", sys.executable, str(venv)],
                 ["pip", "install", "-q", "--offline", "--no-index", "--find-links",
                  str(wheelhouse), "--python", str(venv / "bin" / "python"), "ipykernel",
                  "calcpkg==1.0"]):
        subprocess.run([uv_binary(), *args], env=cli.env, check=True, capture_output=True)
    spec = cli.jupyter / "kernels" / "calc-v1"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "calc v1", "language": "python"}))
    return "calc-v1"


def test_isolated_matches_and_upgrade_names_the_breaking_cell(cli, wheelhouse, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "calc"\n')
    notebook = make_notebook(
        "import calcpkg",
        "print(calcpkg.double(21))",
        {"cell_type": "markdown", "source": "The old function:"},
        "print(calcpkg.triple(3))",
    )
    (project / "calc.ipynb").write_text(nbformat.writes(notebook))
    kernel = _kernel_with_v1(cli, wheelhouse, tmp_path)

    run = cli("run", "calc.ipynb", "-k", kernel, "-q", "--output-format", "json", cwd=project)
    assert run.returncode == 0, run.stderr
    original = json.loads(run.stdout)
    environment = original["environment"]
    assert environment["packages"]["calcpkg"] == "1.0"
    assert {"calcpkg", "ipykernel"} <= set(environment["needed"])
    offline = ["--offline", "--no-index", "--find-links", wheelhouse]

    same = cli("reproduce", original["run_id"], "--isolated", *offline, "--output-format",
               "json", cwd=project)
    assert same.returncode == 0, same.stderr
    report = json.loads(same.stdout)
    assert report["reproduced"] is True
    rerun = json.loads((project / ".nbprod" / "runs" / report["run_id"] / "receipt.json")
                       .read_text())
    assert rerun["environment"]["packages"]["calcpkg"] == "1.0"

    upgraded = cli("reproduce", original["run_id"], "--upgrade", "calcpkg", *offline,
                   cwd=project)
    assert upgraded.returncode == 1, upgraded.stderr
    assert "does not reproduce run" in upgraded.stderr
    assert "cell 4 (id 'c4')" in upgraded.stderr
    assert "AttributeError" in upgraded.stderr and "triple" in upgraded.stderr
    assert "no API-drift rule (NB5xx) predicted this break (with calcpkg 2.0)" in (
        upgraded.stderr)
