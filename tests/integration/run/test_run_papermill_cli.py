"""papermill's own command-line examples work with ``nbprod run`` in place of ``papermill``.

The examples are those of papermill's documentation ("Execute via CLI"), with the S3 output
replaced by a local file. Each runs through real papermill and through ``nbprod run``; the
parameter values the notebook sees must be the same.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from nbprod.store import Store
from tests.integration.run.runhelpers import child_env, nbprod_command, write_notebook

PARAMETERS = (
    'alpha = 0.5\nl1_ratio = 0.5\nversion = "0.0"\nx = [0.0]\n'
    'linear_function = {"slope": 1.0, "intercept": 0.0}'
)
SHOW = "print(repr(alpha), repr(l1_ratio), repr(version), repr(x), repr(linear_function))"

EXAMPLES = {
    "parameters": "papermill local/input.ipynb s3://bkt/output.ipynb -p alpha 0.6 -p l1_ratio 0.1",
    "raw": "papermill local/input.ipynb s3://bkt/output.ipynb -r version 1.0",
    "file": "papermill local/input.ipynb s3://bkt/output.ipynb -f parameters.yaml",
    "yaml": '''papermill local/input.ipynb s3://bkt/output.ipynb -y "
x:
    - 0.0
    - 1.0
    - 2.0
    - 3.0
linear_function:
    slope: 3.0
    intercept: 1.0"''',
    "base64": "papermill local/input.ipynb s3://bkt/output.ipynb -b"
              " YWxwaGE6IDAuNgpsMV9yYXRpbzogMC4xCg==",
    # The options the migration guide maps, in one command.
    "options": "papermill local/input.ipynb s3://bkt/output.ipynb -k python3 --cwd local"
               " --log-output --request-save-on-cell-execute -p alpha 0.7",
}


@pytest.fixture
def papermill_project(project):
    (project / "local").mkdir()
    write_notebook(project / "local", "input.ipynb", {"source": PARAMETERS, "tags": ["parameters"]},
                   SHOW)
    (project / "parameters.yaml").write_text("alpha: 0.9\nversion: '2.0'\n", encoding="utf-8")
    return project


def _args(example: str, tool: list[str]) -> list[str]:
    words = shlex.split(example)
    assert words[0] == "papermill"
    return [*tool, *("output.ipynb" if w.startswith("s3://") else w for w in words[1:])]


def _shown(notebook) -> str:
    """What the notebook's last cell printed."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "".join(cells[-1]["outputs"][0]["text"]).strip()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_papermill_cli_example_runs_through_nbprod_run(papermill_project, name):
    project = papermill_project
    env = child_env(project)
    papermill = subprocess.run(
        _args(EXAMPLES[name], [sys.executable, "-m", "papermill"]), cwd=project, env=env,
        capture_output=True, text=True, timeout=180)
    assert papermill.returncode == 0, papermill.stderr
    expected = _shown(project / "output.ipynb")

    # papermill's output is an executed notebook: nbprod may replace it (same path), and
    # keeps its permissions.
    os.chmod(project / "output.ipynb", 0o640)
    ours = subprocess.run(_args(EXAMPLES[name], [*nbprod_command(), "run"]), cwd=project,
                          env=env, capture_output=True, text=True, timeout=180)
    assert ours.returncode == 0, ours.stderr
    assert _shown(project / "output.ipynb") == expected
    assert oct((project / "output.ipynb").stat().st_mode & 0o777) == oct(0o640)
    (run,) = Store.open(project).list_runs()
    assert run["status"] == "succeeded"
    if name == "options":
        assert expected in ours.stderr  # --log-output echoes what the notebook prints


def test_papermill_only_outputs_are_refused_with_a_hint(papermill_project, run_cli):
    for target in ("s3://bkt/output.ipynb", "-"):
        result = run_cli("run", "local/input.ipynb", target, cwd=papermill_project)
        assert result.exit_code == 2
        assert "nbprod run writes a local .ipynb file" in result.output
    both = run_cli("run", "local/input.ipynb", "a.ipynb", "-o", "b.ipynb",
                   cwd=papermill_project)
    assert both.exit_code == 2 and "give the output once" in both.output
    assert not (papermill_project / ".nbprod").exists()
    assert os.listdir(papermill_project / "local") == ["input.ipynb"]
