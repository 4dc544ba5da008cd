"""``verify``: tampered objects, dangling references, stray temp files, unindexed receipts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nbprod.errors import StoreError
from nbprod.store import Store

NB_HASH = "blake3:" + "1" * 64


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path)
    yield opened
    opened.close()


def _run_with_object(store, content=b"result"):
    run = store.begin_run("a.ipynb", NB_HASH, {})
    digest = store.put_bytes(content)
    store.finish_run(run.run_id, {"status": "succeeded", "data": [
        {"path": "out.txt", "role": "output", "hash": digest, "bytes": len(content),
         "stored": True}]})
    return run, digest


def test_clean_store(store):
    _run_with_object(store)
    report = store.verify(rehash=True)
    assert report.problems == 0 and report.integrity_ok
    assert report.objects_checked == 1 and report.runs_checked == 1
    data = report.to_dict()
    assert data["ok"] is True and data["problems"] == 0
    json.dumps(data)


def test_tampered_object_is_flagged(store):
    _, digest = _run_with_object(store)
    path = store.objects.path_for(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"forged")
    report = store.verify()
    assert [m["hash"] for m in report.hash_mismatches] == [digest]
    assert report.problems >= 1
    # Repair never deletes data: the corrupted object is still reported afterwards.
    assert store.verify(repair=True).hash_mismatches
    assert path.read_bytes() == b"forged"


def test_writable_object_is_reported_and_fixed(store):
    _, digest = _run_with_object(store)
    os.chmod(store.objects.path_for(digest), 0o644)
    assert store.verify().writable_objects == [digest]
    assert store.verify(repair=True).problems == 0
    assert store.verify().writable_objects == []


def test_missing_object_is_a_dangling_reference(store):
    run, digest = _run_with_object(store)
    os.unlink(store.objects.path_for(digest))
    report = store.verify()
    sources = {ref["from"] for ref in report.dangling_references}
    assert sources == {"objects index", f"run {run.run_id}", f"receipt {run.run_id}"}
    assert report.problems == 3


def test_temp_files_of_dead_writers_removed_live_ones_kept(store):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stray = store.path / "objects" / f".nbprod-tmp-{dead.pid}-abc"
    stray.write_bytes(b"partial")
    legacy = store.runs_path / ".nbprod-tmp-xyz"
    legacy.write_bytes(b"partial")
    live = store.path / "objects" / f".nbprod-tmp-{os.getppid()}-def"
    live.write_bytes(b"being written")
    report = store.verify()
    assert sorted(report.temp_files) == sorted([str(stray), str(legacy)])
    assert report.temp_files_in_use == [str(live)]
    assert report.problems == 2 and stray.exists()
    assert store.verify(repair=True).problems == 0
    assert not stray.exists() and not legacy.exists() and live.exists()


def test_unindexed_receipt_and_object_are_repaired(store):
    run = store.begin_run("a.ipynb", NB_HASH, {})
    store.finish_run(run.run_id, {"status": "succeeded"})
    receipt = json.loads((run.run_dir / "receipt.json").read_text())
    receipt["status"] = "failed"
    (run.run_dir / "receipt.json").write_text(json.dumps(receipt))
    store.db.execute_write("DELETE FROM objects")
    digest = store.objects.write_bytes(b"orphan blob")
    report = store.verify()
    assert report.unindexed_receipts == [run.run_id]
    assert report.unindexed_objects == [digest]
    repaired = store.verify(repair=True)
    assert repaired.problems == 0
    assert store.list_runs()[0]["status"] == "failed"
    assert store.verify().unindexed_objects == []


def test_run_folder_without_index_row_is_indexed(store, tmp_path):
    run = store.begin_run("a.ipynb", NB_HASH, {"k": 1})
    store.finish_run(run.run_id, {"status": "succeeded"})
    store.db.execute_write("DELETE FROM runs")
    assert store.verify().unindexed_receipts == [run.run_id]
    store.verify(repair=True)
    [summary] = store.list_runs()
    assert summary["run_id"] == run.run_id and summary["parameters"] == {"k": 1}


def test_missing_and_damaged_receipts(store):
    first, _ = _run_with_object(store)
    second, _ = _run_with_object(store, b"other")
    os.unlink(first.run_dir / "receipt.json")
    (second.run_dir / "receipt.json").write_text("{broken")
    report = store.verify(repair=True)
    assert report.missing_receipts == [first.run_id]
    assert [b["run_id"] for b in report.bad_receipts] == [second.run_id]
    assert report.problems == 2


def test_runs_of_dead_processes_are_marked(store):
    run = store.begin_run("a.ipynb", NB_HASH, {})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.db.execute_write("UPDATE runs SET pid = ? WHERE run_id = ?", (dead.pid, run.run_id))
    report = store.verify()
    assert report.interrupted == [run.run_id] and report.problems == 0


def test_index_rebuilt_from_receipts_after_it_is_lost(tmp_path):
    store = Store.open(tmp_path)
    run, digest = _run_with_object(store)
    store.close()
    for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm"):
        (tmp_path / ".nbprod" / name).unlink(missing_ok=True)
    rebuilt = Store.open(tmp_path, create=False)
    assert rebuilt.list_runs() == []
    report = rebuilt.verify(repair=True)
    assert report.problems == 0 and report.unindexed_receipts == [run.run_id]
    assert [r["run_id"] for r in rebuilt.list_runs()] == [run.run_id]
    assert rebuilt.verify().problems == 0 and rebuilt.verify().unindexed_objects == []


def test_damaged_index_is_a_clean_error(tmp_path):
    (tmp_path / ".nbprod").mkdir()
    (tmp_path / ".nbprod" / "store.sqlite").write_bytes(b"not a database " * 100)
    with pytest.raises(StoreError, match="is damaged .* move it aside"):
        Store.open(tmp_path)


def test_verify_reports_unmasked_secrets_in_stored_runs(tmp_path):
    """Secrets left in a run folder (records, kernel log, outputs) are problems, named and
    masked in the report."""
    import json as _json

    from nbprod.store import Store

    store = Store.open(tmp_path)
    run_dir = store.runs_path / "20260101T000000Z-abcdef"
    run_dir.mkdir(parents=True)
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    (run_dir / "records.jsonl").write_text(_json.dumps({"name": "t", "value": token}) + "\n")
    (run_dir / "output.ipynb").write_text(_json.dumps({"cells": [
        {"cell_type": "code", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["key AKIAQWERTYUIOPASDFGH\n"]},
            {"output_type": "display_data", "data": {"image/png": "AKIAQWERTYUIOPASDFGH"}}]}]}))
    report = store.verify()
    found = sorted((x["path"].rsplit("/", 1)[-1], x["where"], x["kind"])
                   for x in report.unmasked_secrets)
    assert found == [("output.ipynb", "cell 1 outputs", "AWS access key"),  # not the image
                     ("records.jsonl", "file", "GitHub token")]
    assert token not in _json.dumps(report.to_dict())
    assert report.problems >= 2


def test_secret_parameters_recorded_with_their_values_are_reported(store):
    # A store written before parameters were redacted where they are recorded: the values
    # are planted by hand in a sweep's receipt (points and table) and in the index.
    run = store.begin_run("tok.ipynb", NB_HASH, {})
    store.finish_run(run.run_id, {"status": "succeeded", "kind": "sweep"})
    assert store.verify().unmasked_secrets == []
    path = store.receipt_path(run.run_id)
    receipt = json.loads(path.read_text())
    receipt["parameters"] = {"points": [{"api_token": "ghsecretAAA1", "n": 1},
                                        {"api_token": "***", "n": 2}]}
    receipt["sweep"] = {"runs": [{"index": 1, "parameters": {
        "db_url": "postgresql://ana:pw-Hidden77@db/x", "password": ""}}]}
    path.write_text(json.dumps(receipt))
    with store.db.write() as conn:
        conn.execute("UPDATE runs SET parameters = ? WHERE run_id = ?",
                     (json.dumps({"password": "hunter2pw", "empty_token": None}), run.run_id))
    report = store.verify()
    found = {(f["path"], f["where"]) for f in report.unmasked_secrets}
    receipt_path = f"runs/{run.run_id}/receipt.json"
    assert found == {
        ("store.sqlite", "index parameters: password"),
        (receipt_path, "parameters: points [1]: api_token"),
        (receipt_path, "sweep run 1 parameters: db_url"),
    }
    assert report.problems == 3
    shown = json.dumps(report.to_dict())
    for value in ("ghsecretAAA1", "pw-Hidden77", "hunter2pw"):
        assert value not in shown


def test_secret_parameters_are_recorded_redacted_whatever_the_run_kind(store):
    run = store.begin_run("flow.ipynb", NB_HASH, {
        "password": "hunter2pw", "k": 3, "db_url": "postgresql://ana:pw-Hidden77@db/x",
        "points": [{"api_token": "ghsecretAAA1", "lr": 0.1}]}, kind="pipeline")
    public = {"password": "***", "k": 3, "db_url": "***",
              "points": [{"api_token": "***", "lr": 0.1}]}
    assert json.loads(store.db.query("SELECT parameters FROM runs")[0][0]) == public
    store.finish_run(run.run_id, {
        "status": "failed", "error": {"message": "login as hunter2pw refused"},
        "pipeline": {"stdout": "token ghsecretAAA1\n"}})
    receipt = store.read_receipt(run.run_id)
    assert receipt["parameters"] == public
    assert receipt["error"] == {"message": "login as *** refused"}
    assert receipt["pipeline"]["stdout"] == "token ***\n"
    # A receipt that brings its own parameters is redacted the same way.
    other = store.begin_run("flow.ipynb", NB_HASH, {}, kind="step")
    store.finish_run(other.run_id, {"status": "succeeded", "parameters": {"api_key": "k3y-x"}})
    assert store.read_receipt(other.run_id)["parameters"] == {"api_key": "***"}
    stored = b"".join(p.read_bytes() for p in store.path.rglob("*") if p.is_file())
    for value in (b"hunter2pw", b"pw-Hidden77", b"ghsecretAAA1", b"k3y-x"):
        assert value not in stored
    assert store.verify().problems == 0


def test_a_short_secret_value_never_changes_a_hash_the_receipt_names(store):
    digest = store.put_bytes(b"value")
    secret = digest.split(":")[1][:6]  # a password that happens to occur in the hash
    run = store.begin_run("flow.ipynb", NB_HASH, {"password": secret}, kind="step")
    store.finish_run(run.run_id, {"status": "succeeded", "objects": [digest],
                                  "pipeline": {"values": {"x": digest},
                                               "stdout": f"pw {secret}\n"}})
    receipt = store.read_receipt(run.run_id)
    assert receipt["pipeline"] == {"values": {"x": digest}, "stdout": "pw ***\n"}
    assert receipt["objects"] == [digest] and receipt["parameters"] == {"password": "***"}
