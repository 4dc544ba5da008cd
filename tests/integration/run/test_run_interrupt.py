"""The runner itself stopped: SIGTERM is recorded by the runner, kill -9 by the store's pid check.

``NBPROD_KILL_REPS`` sets how many kill -9 repetitions run (default 3; 20 for the full check).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import nbformat
import pytest

from nbprod.store import Store
from tests.integration.run.runhelpers import child_env, nbprod_command, pid_gone, write_notebook

SLOW = [
    "import os\nopen('kernel.pid', 'w').write(str(os.getpid()))",
    "import time\nfor i in range(300):\n    print(i, flush=True)\n    time.sleep(0.1)",
    "print('never reached')",
]
KILL_REPS = int(os.environ.get("NBPROD_KILL_REPS", "3"))


def _start(project, nb_path):
    return subprocess.Popen(
        [*nbprod_command(), "run", str(nb_path), "-q", "--output-format", "json"],
        cwd=project, env=child_env(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _wait_for(path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return True
        time.sleep(0.05)
    return False


def test_sigterm_marks_the_run_interrupted(project):
    nb_path = write_notebook(project, "slow.ipynb", *SLOW)
    runner = _start(project, nb_path)
    assert _wait_for(project / "kernel.pid"), runner.communicate()
    time.sleep(0.5)  # inside the long cell
    runner.send_signal(signal.SIGTERM)
    stdout, stderr = runner.communicate(timeout=30)
    assert runner.returncode == 3, stderr
    receipt = json.loads(stdout)
    assert receipt["status"] == "interrupted"
    assert receipt["error"]["cell"] == 2 and "SIGTERM" in receipt["error"]["evalue"]
    assert [c["status"] for c in receipt["timing"]["cells"]] == [
        "succeeded", "interrupted", "not_run"]
    assert pid_gone(int((project / "kernel.pid").read_text()), within=10)
    assert Store.open(project).get_run(receipt["run_id"])["status"] == "interrupted"


@pytest.mark.xdist_group("kill9")
def test_kill9_runner_leaves_a_consistent_store(project):
    nb_path = write_notebook(project, "slow.ipynb", *SLOW)
    rng = random.Random(int(os.environ.get("NBPROD_KILL_SEED", "7")))
    kernel_pids = []
    for _ in range(KILL_REPS):
        pid_file = project / "kernel.pid"
        pid_file.unlink(missing_ok=True)
        runner = _start(project, nb_path)
        # Random moments: before the kernel is up, during start-up, or mid-cell.
        if rng.random() < 0.7:
            assert _wait_for(pid_file), runner.communicate()
            kernel_pids.append(int(pid_file.read_text()))
        time.sleep(rng.uniform(0.0, 1.5))
        runner.kill()
        runner.communicate(timeout=30)
    for pid in kernel_pids:
        assert pid_gone(pid, within=10), f"kernel {pid} outlived its runner"

    store = Store.open(project)
    marked = store.mark_interrupted_stale()
    runs = store.list_runs()
    assert runs and {r["status"] for r in runs} == {"interrupted"}
    assert set(marked) <= {r["run_id"] for r in runs}
    verify = subprocess.run([*nbprod_command(), "store", "verify", "--output-format", "json"],
                            cwd=project, env=child_env(project), capture_output=True, text=True,
                            timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    for run in runs:  # a partial output notebook, when there is one, is valid
        output = store.run_dir(run["run_id"]) / "output.ipynb"
        if output.exists():
            nbformat.validate(nbformat.read(output, as_version=4))
