"""``kill -9`` of ``nbprod run`` while it stores the run's objects: nothing half-written stays.

The notebook writes many output files, which the runner copies into the content-addressed
store after the last cell. Each repetition waits for the run folder and the first object
(the stored notebook, written just before the outputs) and kills the runner then, so the
kill lands while objects are being written.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from nbprod.store import Store
from tests.integration.run.runhelpers import (
    child_env,
    live_children,
    nbprod_command,
    write_notebook,
)

REPETITIONS = int(os.environ.get("NBPROD_KILL_REPS", "3"))
WRITE_MANY = (
    "import os\nos.makedirs('out', exist_ok=True)\n"
    "for i in range(400):\n"
    "    with open(f'out/part{i:03d}.bin', 'wb') as f:\n"
    "        f.write(os.urandom(64 * 1024))"
)


def _objects(store_dir) -> list:
    folder = store_dir / "objects"
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".nbprod-tmp-")]


def _wait_for_first_object(store_dir, before: int, runner, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and runner.poll() is None:
        runs = store_dir / "runs"
        if runs.is_dir() and any(runs.iterdir()) and len(_objects(store_dir)) > before:
            return True
        time.sleep(0.005)
    return False


@pytest.mark.xdist_group("kill9")
def test_kill9_while_objects_are_written_leaves_a_verifiable_store(project, run_cli):
    nb_path = write_notebook(project, "many.ipynb", WRITE_MANY)
    store_dir = project / ".nbprod"
    landed = 0
    for _ in range(REPETITIONS):
        before = len(_objects(store_dir))
        runner = subprocess.Popen(
            [*nbprod_command(), "run", str(nb_path), "-q"], cwd=project,
            env=child_env(project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if _wait_for_first_object(store_dir, before, runner):
            runner.kill()
            landed += 1
        runner.wait(timeout=60)
    assert landed == REPETITIONS, "the runner finished before its objects could be interrupted"
    deadline = time.monotonic() + 10
    while live_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_children() == []  # no kernel outlived its runner

    store = Store.open(project)
    report = store.verify()
    assert report.hash_mismatches == [] and report.dangling_references == []
    assert report.integrity_ok and report.bad_receipts == []
    runs = store.list_runs()
    assert len(runs) == REPETITIONS and {r["status"] for r in runs} == {"interrupted"}
    assert len(_objects(store_dir)) < 401 * REPETITIONS  # killed mid-way, every time

    repaired = run_cli("store", "verify", "--repair", "--output-format", "json", cwd=project)
    assert json.loads(repaired.stdout)["problems"] == 0, repaired.output
    assert not list(store_dir.rglob(".nbprod-tmp-*"))
    assert run_cli("store", "verify", cwd=project).exit_code == 0


@pytest.mark.parametrize("point", ["object.after_temp", "object.after_rename"])
def test_run_killed_at_an_exact_step_of_an_object_write(project, run_cli, point):
    """The same, deterministic: the runner kills itself between the steps of its first
    object write (temp file written; renamed but not indexed)."""
    nb_path = write_notebook(project, "many.ipynb", WRITE_MANY)
    env = {**child_env(project), "NBPROD_STORE_CRASHPOINT": point}
    runner = subprocess.run([*nbprod_command(), "run", str(nb_path), "-q"], cwd=project,
                            env=env, capture_output=True, timeout=180)
    assert runner.returncode == -9, runner.stderr
    deadline = time.monotonic() + 10
    while live_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_children() == []

    report = json.loads(run_cli("store", "verify", "--output-format", "json",
                                cwd=project).stdout)
    assert report["hash_mismatches"] == [] and report["dangling_references"] == []
    if point == "object.after_temp":
        assert report["temp_files"]  # the half-written object, never under its name
    else:
        assert report["unindexed_objects"]  # whole, renamed, not yet in the index
    (run,) = Store.open(project).list_runs()
    assert run["status"] == "interrupted"
    repaired = run_cli("store", "verify", "--repair", "--output-format", "json", cwd=project)
    assert json.loads(repaired.stdout)["problems"] == 0
    assert run_cli("store", "verify", cwd=project).exit_code == 0
