"""A separate process that uses the run store, driven by the store's integration tests.

Usage: python store_worker.py MODE STORE [ARGS...]; prints what the test checks on stdout.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from nbprod.store import Store

FAKE_HASH = "blake3:" + "0" * 64


def wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.01)


def record_runs(store: Store, count: int, tag: str) -> None:
    """Begin and finish ``count`` runs, each with one stored output blob."""
    for i in range(count):
        run = store.begin_run(f"nb/{tag}.ipynb", FAKE_HASH, {"worker": tag, "i": i})
        digest = store.put_bytes(f"{tag}:{i}".encode())
        store.finish_run(run.run_id, {
            "status": "succeeded",
            "data": [{"path": f"out/{tag}-{i}.txt", "role": "output", "hash": digest,
                      "bytes": len(f"{tag}:{i}"), "stored": True}],
        })


def churn(store: Store, work: Path) -> None:
    """Record runs with blobs and copied files forever (until killed)."""
    source = work / f"source-{os.getpid()}.bin"
    i = 0
    while True:
        i += 1
        run = store.begin_run("nb/churn.ipynb", FAKE_HASH, {"i": i})
        payload = os.urandom(256 * 1024 + i)
        first = store.put_bytes(payload)
        source.write_bytes(os.urandom(64 * 1024))
        second = store.put_file(source)
        (run.run_dir / "output.ipynb").write_text('{"cells": []}')
        store.finish_run(run.run_id, {
            "status": "succeeded",
            "data": [
                {"path": "a.bin", "role": "output", "hash": first, "bytes": len(payload),
                 "stored": True},
                {"path": "b.bin", "role": "output", "hash": second, "bytes": 65536,
                 "stored": True},
            ],
        })
        if i == 1:
            print("first-run-done", flush=True)


def main() -> None:
    mode, store_dir = sys.argv[1], Path(sys.argv[2])
    args = sys.argv[3:]
    if mode in ("blob", "open"):
        ready, go = Path(args[0]), Path(args[1])
        ready.touch()
        wait_for(go)
        store = Store.open(store_dir.parent, store_dir=store_dir)
        if mode == "blob":
            print(store.put_bytes(b"same content " * 100_000), flush=True)
        else:
            print(store.db.schema_version(), flush=True)
        return
    store = Store.open(store_dir.parent, store_dir=store_dir)
    if mode == "records":
        count, tag = int(args[0]), args[1]
        print("ready", flush=True)
        wait_for(Path(args[2]))
        record_runs(store, count, tag)
        print("done", flush=True)
    elif mode == "hold":
        with store.db.write() as conn:
            conn.execute("UPDATE runs SET heartbeat = heartbeat")
            print("held", flush=True)
            time.sleep(600)
    elif mode == "begin":
        run = store.begin_run("nb/killed.ipynb", FAKE_HASH, {})
        print(run.run_id, flush=True)
        time.sleep(600)
    elif mode == "churn":
        print("ready", flush=True)
        churn(store, Path(args[0]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
