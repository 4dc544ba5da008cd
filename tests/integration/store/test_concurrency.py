"""Many real processes on one store: no lost record, no "database is locked", one schema."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

from nbprod.store import Store
from nbprod.store.db import BUSY_TIMEOUT_MS, SCHEMA_VERSION
from nbprod.store.hashing import hash_bytes

STRESS = os.environ.get("NBPROD_STORE_STRESS") == "1"
PROCESSES, RUNS = (50, 200) if STRESS else (10, 100)


def _wait_ready(processes, token: str) -> None:
    for process in processes:
        line = process.stdout.readline().strip()
        assert line == token, process.stderr.read()


def test_parallel_writers_lose_no_record(tmp_path, spawn):
    store_dir = tmp_path / ".nbprod"
    Store.open(tmp_path).close()
    go = tmp_path / "go"
    workers = [spawn("records", store_dir, RUNS, f"w{i}", go) for i in range(PROCESSES)]
    _wait_ready(workers, "ready")
    go.touch()
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        assert "locked" not in err.lower() and "busy" not in err.lower()
        assert out.strip() == "done"
    store = Store.open(tmp_path)
    runs = store.list_runs()
    assert len(runs) == PROCESSES * RUNS
    assert {r["status"] for r in runs} == {"succeeded"}
    assert len({r["run_id"] for r in runs}) == PROCESSES * RUNS
    per_worker = {}
    for run in runs:
        per_worker[run["parameters"]["worker"]] = per_worker.get(run["parameters"]["worker"],
                                                                 0) + 1
    assert set(per_worker.values()) == {RUNS}
    assert store.db.integrity_check() == ["ok"]
    report = store.verify()
    assert report.problems == 0, report.to_dict()


def test_twenty_processes_store_the_same_blob(tmp_path, spawn):
    store_dir = tmp_path / ".nbprod"
    go = tmp_path / "go"
    workers = [spawn("blob", store_dir, tmp_path / f"ready{i}", go) for i in range(20)]
    while len(list(tmp_path.glob("ready*"))) < 20:
        time.sleep(0.01)
    go.touch()
    expected = hash_bytes(b"same content " * 100_000)
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == expected
    store = Store.open(tmp_path)
    objects = list(store.objects.iter_objects())
    assert [digest for digest, _ in objects] == [expected]
    assert hash_bytes(objects[0][1].read_bytes()) == expected
    assert store.db.query("SELECT COUNT(*) FROM objects")[0][0] == 1
    assert not [p for p in store.path.rglob(".nbprod-tmp-*")]


def test_twenty_processes_open_a_fresh_store(tmp_path, spawn):
    store_dir = tmp_path / "fresh" / ".nbprod"
    go = tmp_path / "go"
    workers = [spawn("open", store_dir, tmp_path / f"ready{i}", go) for i in range(20)]
    while len(list(tmp_path.glob("ready*"))) < 20:
        time.sleep(0.01)
    go.touch()
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == str(SCHEMA_VERSION)
    conn = sqlite3.connect(store_dir / "store.sqlite")
    tables = sorted(row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"))
    assert tables == ["objects", "run_files", "runs", "stat_cache"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_writer_proceeds_after_the_lock_holder_is_killed(tmp_path, spawn):
    store = Store.open(tmp_path)
    holder = spawn("hold", store.path)
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    run = store.begin_run("nb.ipynb", "blake3:" + "0" * 64, {})
    elapsed = time.monotonic() - started
    # The OS drops a dead process's file locks at once: no waiting for the busy timeout.
    assert elapsed < BUSY_TIMEOUT_MS / 1000 / 6
    assert store.list_runs()[0]["run_id"] == run.run_id


def test_killed_runner_is_marked_interrupted(tmp_path, spawn):
    store = Store.open(tmp_path)
    runner = spawn("begin", store.path)
    run_id = runner.stdout.readline().strip()
    assert store.mark_interrupted_stale() == []
    assert store.get_run(run_id)["status"] == "running"
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    assert store.mark_interrupted_stale() == [run_id]
    receipt = store.get_run(run_id)
    assert receipt["status"] == "interrupted"
    assert "without writing a receipt" in receipt["error"]["message"]

