"""``InputWatcher``: inputs hashed at first read, compared with the end state."""

from __future__ import annotations

import json
import os

from nbprod.run.watch import InputWatcher
from nbprod.store import Store


def _log(path, *entries):
    with open(path, "a", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry) + "\n")


def _stat(path):
    info = os.stat(path)
    return [info.st_size, info.st_mtime_ns]


def test_changed_input_is_reported_with_both_hashes(tmp_path):
    store = Store.open(tmp_path)
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")
    log = tmp_path / "access.jsonl"
    watcher = InputWatcher(log, store, tmp_path).start()
    _log(log, {"path": str(data), "write": False, "stat": _stat(data)},
         {"path": str(tmp_path / "out.csv"), "write": True})
    watcher.stop()
    first = watcher.first["in.csv"]["hash"]
    assert first == store.hash_file(data)[0] and "out.csv" not in watcher.first
    data.write_text("a\n1\n2\n")
    end = store.hash_file(data)[0]
    entries = [{"path": "in.csv", "role": "input", "hash": end},
               {"path": "out.csv", "role": "output", "hash": "blake3:x"}]
    assert watcher.changes(entries) == [
        {"path": "in.csv", "hash_at_first_read": first, "hash_at_end": end}]
    assert watcher.changes([{"path": "in.csv", "role": "input", "hash": first}]) == []


def test_change_between_open_and_first_hash_is_seen_in_the_stat(tmp_path):
    store = Store.open(tmp_path)
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")
    opened = _stat(data)
    data.write_text("a\n1\n2\n")  # changed before the watcher got to it
    log = tmp_path / "access.jsonl"
    _log(log, {"path": str(data), "write": False, "stat": opened})
    watcher = InputWatcher(log, store, tmp_path).start()
    watcher.stop()
    end = store.hash_file(data)[0]
    assert watcher.changes([{"path": "in.csv", "role": "input", "hash": end}]) == [
        {"path": "in.csv", "hash_at_first_read": None, "hash_at_end": end}]


def test_a_line_still_being_written_waits_for_its_end(tmp_path):
    store = Store.open(tmp_path)
    data = tmp_path / "in.csv"
    data.write_text("x")
    log = tmp_path / "access.jsonl"
    line = json.dumps({"path": str(data), "write": False})
    log.write_text(line[:10])
    watcher = InputWatcher(log, store, tmp_path)
    watcher._scan()
    assert watcher.first == {}
    with open(log, "a") as handle:
        handle.write(line[10:] + "\n")
    watcher._scan()
    assert list(watcher.first) == ["in.csv"]
