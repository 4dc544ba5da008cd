"""A pipeline stopped by Ctrl-C or SIGTERM ends as `nbprod run` does: the step that was
running and the pipeline are recorded as interrupted, one line says so, exit 3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import write_notebook

pytestmark = pytest.mark.xdist_group("pipeline-interrupt")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_pipeline_records_the_running_step_and_exits_3(tmp_path, stop):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "stop"\n\n[tool.nbprod.pipeline]\nname = "stop"\n\n'
        '[[tool.nbprod.pipeline.steps]]\nname = "first"\nnotebook = "first.ipynb"\n\n'
        '[[tool.nbprod.pipeline.steps]]\nname = "slow"\nnotebook = "slow.ipynb"\n'
        'needs = ["first"]\n')
    write_notebook(tmp_path / "first.ipynb", "x = 1")
    write_notebook(tmp_path / "slow.ipynb",
                   "import time\nopen('started', 'w').close()\ntime.sleep(60)")
    job = subprocess.Popen([sys.executable, "-m", "nbprod", "pipeline", "run"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "NBPROD_LIFELINE": ""})
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "started").exists(), job.communicate(timeout=5)
    job.send_signal(stop)
    out, err = job.communicate(timeout=60)
    assert job.returncode == 3, (out, err)
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(
        "error: pipeline 'stop' interrupted (")
    assert "step slow recorded as interrupted" in err
    store = open_project_store(tmp_path)
    statuses = {(r["kind"], r["notebook"]): r["status"] for r in store.list_runs()}
    assert statuses[("step", "slow.ipynb")] == "interrupted"
    assert statuses[("step", "first.ipynb")] == "succeeded"
    assert statuses[("pipeline", "pyproject.toml")] == "interrupted"


def test_a_step_timing_out_leaves_no_asyncio_report(tmp_path):
    """nbclient's pending tasks of a cut-short run are garbage once nbprod has reported it."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "late"\n\n[tool.nbprod.pipeline]\nname = "late"\n\n'
        '[[tool.nbprod.pipeline.steps]]\nname = "slow"\nnotebook = "slow.ipynb"\n')
    write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(30)")
    done = subprocess.run([sys.executable, "-m", "nbprod", "pipeline", "run", "--timeout", "1",
                           "--max-parallel", "2"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3, done.stderr
    assert "CellTimeoutError: no result within 1 s" in done.stdout
    assert "Task was destroyed" not in done.stderr and "Traceback" not in done.stderr
