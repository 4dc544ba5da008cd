"""Ctrl-C on a pipeline whose function steps run on the local Dask cluster: a terminal sends
it to the whole foreground process group, the cluster's worker processes included. They print
nothing (no "Process Dask Worker process (from Nanny)" traceback), the command ends with its
one-line error and exit 3, and no process of the cluster is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from tests.integration.pipeline.conftest import write_notebook
from tests.integration.run.runhelpers import ctrl_c, killed_at_exit

pytestmark = pytest.mark.xdist_group("pipeline-interrupt")


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("to", ["group", "command"])
def test_ctrl_c_stops_cluster_workers_without_tracebacks(tmp_path, to):
    pytest.importorskip("distributed", reason="needs nbprod[dask]")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "nap"\n')
    marks = [tmp_path / "started-quick", tmp_path / "started-nap"]
    # One worker sleeps in a step, the other is idle once the quick step is done: an idle
    # worker is the one that printed its traceback at once.
    write_notebook(
        tmp_path / "nap.ipynb",
        {"source": "secs: float = 60", "tags": ["parameters"]},
        {"source": f"open({str(marks[0])!r}, 'w').close()\nquick = 1",
         "tags": ["step:quick"]},
        {"source": f"import time\nopen({str(marks[1])!r}, 'w').close()\ntime.sleep(secs)\n"
                   "nap = 1", "tags": ["step:nap"]},
    )
    job = subprocess.Popen(
        [sys.executable, "-m", "nbprod", "pipeline", "run", "nap.ipynb", "--max-parallel", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**os.environ, "NBPROD_LIFELINE": ""})
    with killed_at_exit(job):
        deadline = time.monotonic() + 120
        while not all(m.exists() for m in marks) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(m.exists() for m in marks), job.communicate(timeout=5)
        cluster = psutil.Process(job.pid).children(recursive=True)
        assert cluster, "the function steps did not run in worker processes"
        stopped = time.monotonic()
        out, err = ctrl_c(job, to)
    assert time.monotonic() - stopped < 30, "the pipeline went on after Ctrl-C"
    assert job.returncode == 3, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines() == [err.strip().splitlines()[-1]], err  # one line
    assert err.strip().startswith("error: pipeline 'nap' interrupted (Ctrl-C)"), err
    deadline = time.monotonic() + 15
    while not all(_gone(p) for p in cluster) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in cluster if not _gone(p)]
    assert not left, f"left behind: {left}"
