"""A sweep stopped by Ctrl-C or SIGTERM stops at once: the runs in flight are recorded as
interrupted, the others are not started and the sweep says so, its record is interrupted,
exit 3, and no traceback is printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import write_notebook

pytestmark = pytest.mark.xdist_group("sweep-interrupt")


@pytest.mark.parametrize(("stop", "parallel"), [(signal.SIGINT, 1), (signal.SIGTERM, 1),
                                                (signal.SIGINT, 2)])
def test_a_stopped_sweep_starts_no_more_runs_and_exits_3(tmp_path, stop, parallel):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "nap"\n')
    write_notebook(tmp_path / "nap.ipynb",
                   {"source": "secs: float = 30\ni: int = 0", "tags": ["parameters"]},
                   "import time\nopen(f'started-{i}', 'w').close()\ntime.sleep(secs)")
    job = subprocess.Popen(
        [sys.executable, "-m", "nbprod", "sweep", "nap.ipynb", "-p", "i", "1,2,3,4,5",
         "--max-parallel", str(parallel)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NBPROD_LIFELINE": ""})
    try:
        running = [tmp_path / f"started-{i}" for i in range(1, parallel + 1)]
        deadline = time.monotonic() + 90
        while not all(p.exists() for p in running) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(p.exists() for p in running), job.communicate(timeout=5)
        stopped = time.monotonic()
        job.send_signal(stop)
        out, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:  # a sweep that went on: do not leave it running
            job.kill()
            job.communicate()
    assert time.monotonic() - stopped < 20, "the sweep went on after the signal"
    assert job.returncode == 3, (out, err)
    assert "Traceback" not in err and "AssertionError" not in err, err
    not_started = f"runs {parallel + 1}-5 not started"
    assert err.strip().splitlines()[-1].startswith("error: sweep "), err
    assert f"interrupted ({stop.name})" in err and not_started in err, err
    assert not (tmp_path / f"started-{parallel + 1}").exists()
    store = open_project_store(tmp_path)
    runs = store.list_runs()
    sweep = [r for r in runs if r["kind"] == "sweep"]
    assert [r["status"] for r in sweep] == ["interrupted"]
    assert sorted(r["status"] for r in runs if r["kind"] == "run") == ["interrupted"] * parallel
    receipt = store.read_receipt(sweep[0]["run_id"])
    assert [r["status"] for r in receipt["sweep"]["runs"]] == (
        ["interrupted"] * parallel + ["not_started"] * (5 - parallel))
