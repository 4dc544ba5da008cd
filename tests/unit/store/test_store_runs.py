"""Run records: begin, finish, look up, list, and the recovery of runs whose process died."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nbprod.errors import ConfigError, StoreError
from nbprod.store import LEASE_SECONDS, Store, StoreConfig, open_project_store
from nbprod.store.db import SCHEMA_VERSION

NB_HASH = "blake3:" + "1" * 64


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path)
    yield opened
    opened.close()


def _finish(store, run, status="succeeded", **extra):
    store.finish_run(run.run_id, {"status": status, **extra})


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_open_creates_layout_in_wal_mode(tmp_path):
    store = Store.open(tmp_path)
    assert store.path == tmp_path / ".nbprod"
    for name in ("store.sqlite", "objects", "runs", ".gitignore"):
        assert (store.path / name).exists()
    assert store.db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert store.db.query("PRAGMA busy_timeout")[0][0] >= 30_000
    assert store.db.schema_version() == SCHEMA_VERSION


def test_open_refuses_a_newer_schema_and_a_file_in_the_way(tmp_path):
    store = Store.open(tmp_path)
    store.db.execute_write("PRAGMA user_version = 99")
    store.close()
    with pytest.raises(StoreError, match="newer than this nbprod"):
        Store.open(tmp_path)
    (tmp_path / "blocked").write_text("x")
    with pytest.raises(StoreError, match="not a folder"):
        Store.open(tmp_path, store_dir=tmp_path / "blocked")


def test_open_without_create_refuses_a_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no run store"):
        Store.open(tmp_path, create=False)
    assert not (tmp_path / ".nbprod").exists()


def test_project_config_sets_the_store_path(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.store]\npath = "runs-store"\n')
    (tmp_path / "sub").mkdir()
    store = open_project_store(tmp_path / "sub")
    assert store.path == tmp_path / "runs-store"
    assert store.root == tmp_path
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.store]\ncopy-dta = true\n')
    with pytest.raises(ConfigError, match="did you mean 'copy-data'"):
        open_project_store(tmp_path)
    with pytest.raises(ValueError):
        StoreConfig(copy_outputs_max_bytes=-1)


def test_begin_finish_and_get(store):
    run = store.begin_run("nb/a.ipynb", NB_HASH, {"lr": 0.1, "name": "é"})
    assert run.run_dir.is_dir() and run.run_dir.name == run.run_id
    assert len(run.run_id.split("-")[-1]) == 6 and run.run_id[8] == "T"
    running = store.get_run(run.run_id)
    assert running["status"] == "running"
    assert running["parameters"] == {"lr": 0.1, "name": "é"}
    assert running["runner"]["pid"] > 0
    store.finish_run(run.run_id, {"status": "failed",
                                  "error": {"cell": 2, "cell_id": "c2", "ename": "E",
                                            "evalue": "v"}})
    receipt = json.loads((run.run_dir / "receipt.json").read_text())
    assert receipt["run_id"] == run.run_id and receipt["schema"] == 1
    assert receipt["notebook"] == {"path": "nb/a.ipynb", "hash": NB_HASH}
    assert receipt["parameters"] == {"lr": 0.1, "name": "é"}
    assert receipt["timing"]["duration_s"] >= 0
    assert store.get_run(run.run_id[:-2]) == receipt
    [summary] = store.list_runs()
    assert summary["status"] == "failed" and summary["error"]["cell_id"] == "c2"


def test_a_run_recorded_after_it_ended_elsewhere_keeps_its_start(store):
    """A sweep's run on a worker is recorded once it has ended: its id, the index and its
    duration show when it started there, not when it was recorded."""
    started, ended = "2026-11-22T12:44:15.250000+00:00", "2026-11-22T12:44:23.250000+00:00"
    run = store.begin_run("a.ipynb", NB_HASH, {}, started=started)
    assert run.run_id.startswith("20261122T124415Z-")
    store.finish_run(run.run_id, {"status": "succeeded",
                                  "timing": {"start": started, "end": ended}})
    [summary] = store.list_runs()
    assert summary["started"] == started and summary["duration_s"] == 8.0
    late = store.begin_run("a.ipynb", NB_HASH, {}, started="not a time")
    assert store.get_run(late.run_id)["status"] == "running"  # recorded as starting now


def test_finish_refuses_bad_status_unknown_run_and_missing_objects(store):
    run = store.begin_run("a.ipynb", NB_HASH, {})
    with pytest.raises(StoreError, match="not one of"):
        _finish(store, run, status="done")
    with pytest.raises(StoreError, match="never begun"):
        store.finish_run("20000101T000000Z-000000", {"status": "succeeded"})
    missing = "blake3:" + "2" * 64
    with pytest.raises(StoreError, match="not in the store"):
        _finish(store, run, data=[{"path": "x", "role": "output", "hash": missing,
                                   "stored": True}])
    assert not (run.run_dir / "receipt.json").exists()
    assert store.get_run(run.run_id)["status"] == "running"


def test_run_id_lookup_errors(store):
    first = store.begin_run("a.ipynb", NB_HASH, {})
    second = store.begin_run("a.ipynb", NB_HASH, {})
    with pytest.raises(StoreError, match="ambiguous"):
        store.get_run(first.run_id[:8])
    with pytest.raises(StoreError, match="did you mean"):
        store.get_run(first.run_id[:-1] + ("x" if first.run_id[-1] != "x" else "y") + "zz")
    with pytest.raises(StoreError, match="run id is required"):
        store.get_run("  ")
    assert store.run_dir(second.run_id) == second.run_dir


def test_a_run_is_found_by_its_short_id_too(store):
    # The lab and the tables show the part after the '-'; users type it back.
    runs = [store.begin_run("a.ipynb", NB_HASH, {}) for _ in range(3)]
    for run in runs:
        short = run.run_id.split("-")[1]
        assert store.resolve_run_id(short) == run.run_id
    with pytest.raises(StoreError, match="no run '_%'"):
        store.resolve_run_id("_%")  # LIKE's wildcards are taken literally


def test_list_filters_and_order(store):
    runs = []
    for i, (notebook, status, kind) in enumerate([
        ("nb/a.ipynb", "succeeded", "run"), ("nb/b.ipynb", "failed", "run"),
        ("other/a.ipynb", "succeeded", "reproduce"), ("nb/a_b.ipynb", "timeout", "run"),
    ]):
        run = store.begin_run(notebook, NB_HASH, {"i": i}, kind=kind,
                              parent=runs[0].run_id if kind == "reproduce" else None)
        _finish(store, run, status=status)
        runs.append(run)
    assert [r["parameters"]["i"] for r in store.list_runs()] == [3, 2, 1, 0]
    assert {r["notebook"] for r in store.list_runs(notebook="a.ipynb")} == {
        "nb/a.ipynb", "other/a.ipynb"}
    assert [r["notebook"] for r in store.list_runs(notebook="nb/a.ipynb")] == ["nb/a.ipynb"]
    assert store.list_runs(notebook="a%.ipynb") == []
    assert [r["status"] for r in store.list_runs(status="failed")] == ["failed"]
    assert [r["kind"] for r in store.list_runs(parent=runs[0].run_id)] == ["reproduce"]
    assert len(store.list_runs(limit=2)) == 2


def test_dead_pid_and_reused_pid_are_interrupted(store):
    alive = store.begin_run("a.ipynb", NB_HASH, {})
    dead = store.begin_run("a.ipynb", NB_HASH, {})
    reused = store.begin_run("a.ipynb", NB_HASH, {})
    store.db.execute_write("UPDATE runs SET pid = ? WHERE run_id = ?", (_dead_pid(), dead.run_id))
    # Our own pid, but a different start time: the pid was reused by another process.
    store.db.execute_write("UPDATE runs SET pid_start = pid_start + 1 WHERE run_id = ?",
                           (reused.run_id,))
    assert sorted(store.mark_interrupted_stale()) == sorted([dead.run_id, reused.run_id])
    assert store.get_run(alive.run_id)["status"] == "running"
    assert store.get_run(dead.run_id)["status"] == "interrupted"
    assert store.mark_interrupted_stale() == []
    # A late receipt still wins over the interrupted mark.
    _finish(store, dead, status="succeeded")
    assert store.get_run(dead.run_id)["status"] == "succeeded"


def test_other_host_runs_use_the_lease(store):
    fresh = store.begin_run("a.ipynb", NB_HASH, {})
    old = store.begin_run("a.ipynb", NB_HASH, {})
    store.db.execute_write("UPDATE runs SET hostname = 'elsewhere'")
    store.db.execute_write("UPDATE runs SET heartbeat = heartbeat - ? WHERE run_id = ?",
                           (LEASE_SECONDS + 1, old.run_id))
    assert store.mark_interrupted_stale() == [old.run_id]
    store.db.execute_write("UPDATE runs SET heartbeat = heartbeat - ? WHERE run_id = ?",
                           (LEASE_SECONDS + 1, fresh.run_id))
    store.heartbeat(fresh.run_id)
    assert store.mark_interrupted_stale() == []


def test_receipt_written_but_not_indexed_is_recovered(store):
    run = store.begin_run("a.ipynb", NB_HASH, {})
    (run.run_dir / "receipt.json").write_text(json.dumps(
        {"schema": 1, "run_id": run.run_id, "status": "succeeded", "parameters": {"x": 1}}))
    store.db.execute_write("UPDATE runs SET pid = ? WHERE run_id = ?", (_dead_pid(), run.run_id))
    assert store.mark_interrupted_stale() == [run.run_id]
    [summary] = store.list_runs()
    assert summary["status"] == "succeeded" and summary["parameters"] == {"x": 1}


def test_damaged_receipt_is_a_store_error(store):
    run = store.begin_run("a.ipynb", NB_HASH, {})
    (run.run_dir / "receipt.json").write_text("{not json")
    with pytest.raises(StoreError, match="not valid JSON"):
        store.get_run(run.run_id)
