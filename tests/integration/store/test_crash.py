"""``kill -9`` during run, blob and receipt writes: the store stays consistent and verifiable."""

from __future__ import annotations

import os
import random
import signal
import time

from nbprod.store import FINAL_STATUSES, Store
from nbprod.store.crash import CRASHPOINTS

REPETITIONS = 30


def _crash_once(spawn, store_dir, work, rng: random.Random, point: str | None) -> None:
    env = {"NBPROD_STORE_CRASHPOINT": point} if point else None
    worker = spawn("churn", store_dir, work, env=env)
    assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
    if point is None:
        time.sleep(rng.uniform(0.0, 0.25))
        worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read()


def test_kill_9_at_random_points_leaves_a_verifiable_store(tmp_path, spawn):
    rng = random.Random(int(os.environ.get("NBPROD_CRASH_SEED", "4")))
    store = Store.open(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    # Half the kills land on named points between the steps of a write, half at random times.
    plan = [CRASHPOINTS[i % len(CRASHPOINTS)] for i in range(REPETITIONS // 2)]
    plan += [None] * (REPETITIONS - len(plan))
    rng.shuffle(plan)
    for point in plan:
        _crash_once(spawn, store.path, work, rng, point)

    report = store.verify()
    assert report.hash_mismatches == []
    assert report.dangling_references == []
    assert report.missing_receipts == [] and report.bad_receipts == []
    assert report.integrity_ok
    statuses = {run["status"] for run in store.list_runs()}
    assert statuses <= set(FINAL_STATUSES), statuses
    assert "interrupted" in statuses
    assert len(store.list_runs()) >= REPETITIONS
    assert report.temp_files, "a kill after the temp write leaves a temp file to clean up"

    repaired = store.verify(repair=True)
    assert repaired.problems == 0, repaired.to_dict()
    assert not list(store.path.rglob(".nbprod-tmp-*"))
    final = store.verify()
    assert final.problems == 0, final.to_dict()
    assert final.temp_files == [] and final.unindexed_receipts == []
