"""Benchmark the run store's hashing, stat cache, environment capture and concurrency.

Prints, in one run and on the same file: nbprod's blake3 hasher vs md5 (as DVC hashes files)
vs a plain read; the re-snapshot of the unchanged file through the stat cache; environment
capture with about 300 installed distributions; how fast a writer proceeds after the lock
holder is killed; and many processes recording runs at once.

    .venv/bin/python bench/hash/bench.py [--size-mib 1024] [--repeat 3]
                                         [--procs 10] [--runs 100]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbprod.store import Store
from nbprod.store.environment import capture_environment
from nbprod.store.hashing import RACY_WINDOW_NS, hash_path

CHUNK = 2**20  # DVC reads files in 1 MiB chunks for md5


def make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * 2**20)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            handle.write(piece)
            written += len(piece)


def plain_read(path: Path) -> None:
    buffer = bytearray(8 * 2**20)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while handle.readinto(view):
            pass


def md5_like_dvc(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def nbprod_hash(path: Path) -> str:
    return hash_path(path)[0]


def best_of(repeat: int, action, path: Path) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action(path)
        times.append(time.perf_counter() - started)
    return min(times)


def fake_site(folder: Path, count: int) -> None:
    for i in range(count):
        info = folder / f"benchpkg_{i:03d}-1.{i}.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: benchpkg-{i:03d}\nVersion: 1.{i}.0\n")


def record_runs(store_dir: str, count: int, tag: str, errors) -> None:
    store = Store.open(Path(store_dir).parent, store_dir=store_dir)
    for i in range(count):
        try:
            run = store.begin_run(f"{tag}.ipynb", "blake3:" + "0" * 64, {"i": i})
            store.finish_run(run.run_id, {"status": "succeeded"})
        except Exception as exc:  # counted and reported: the figure is "0 errors"
            errors.put(f"{type(exc).__name__}: {exc}")


def bench_hashing(work: Path, size: int, repeat: int) -> None:
    path = work / "big.bin"
    print(f"creating a {size / 2**30:.2f} GiB file in {work} ...")
    make_file(path, size)
    created = time.time_ns()
    plain_read(path)  # warm the page cache so every contender reads from memory
    results = {}
    # Interleave the contenders so background noise hits them alike.
    for _ in range(repeat):
        for name, action in (("plain read", plain_read), ("md5 (DVC)", md5_like_dvc),
                             ("nbprod blake3", nbprod_hash)):
            results[name] = min(results.get(name, 1e9), best_of(1, action, path))
    rate = {name: size / seconds / 1e9 for name, seconds in results.items()}
    print(f"\n{'hashing':<16}{'seconds':>10}{'GB/s':>10}")
    for name, seconds in results.items():
        print(f"{name:<16}{seconds:>10.3f}{rate[name]:>10.2f}")
    ours = rate["nbprod blake3"]
    print(f"nbprod vs md5: {ours / rate['md5 (DVC)']:.1f}x (target >= 6x)")
    print(f"nbprod absolute: {ours:.2f} GB/s (target >= 2.5 GB/s)")
    print(f"nbprod vs plain read: {100 * ours / rate['plain read']:.0f}% (target >= 30%)")

    store = Store.open(work)
    # A real input file is older than the mtime granularity; wait that out instead of cheating.
    time.sleep(max(0.0, (created + RACY_WINDOW_NS - time.time_ns()) / 1e9 + 0.1))
    started = time.perf_counter()
    store.hash_file(path)
    first = time.perf_counter() - started
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        store.hash_file(path)
        samples.append(time.perf_counter() - started)
    print(f"\nsnapshot of the 1 GiB file: first {first * 1000:.0f} ms,"
          f" unchanged re-snapshot median {statistics.median(samples) * 1000:.2f} ms"
          f" (target <= 50 ms)")
    store.close()
    path.unlink()


def bench_environment(work: Path) -> None:
    site = work / "site"
    fake_site(site, 300)
    sys.path.append(str(site))
    root = Path(__file__).resolve().parents[2]
    started = time.perf_counter()
    env = capture_environment("python3", project_root=root)
    cold = time.perf_counter() - started
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        capture_environment("python3", project_root=root)
        samples.append(time.perf_counter() - started)
    print(f"\nenvironment capture: {len(env['packages'])} distributions"
          f" (300 synthetic + this venv), first {cold * 1000:.0f} ms,"
          f" median {statistics.median(samples) * 1000:.0f} ms (target <= 300 ms)")


def bench_concurrency(work: Path, procs: int, runs: int) -> None:
    store_dir = work / "concurrency" / ".nbprod"
    Store.open(store_dir.parent).close()
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    workers = [context.Process(target=record_runs, args=(str(store_dir), runs, f"w{i}", errors))
               for i in range(procs)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    store = Store.open(store_dir.parent)
    count = len(store.list_runs())
    locked = sum("locked" in f for f in failures)
    print(f"\nstore concurrency: {procs} processes x {runs} runs -> {count} records"
          f" (expected {procs * runs}), {len(failures)} errors ({locked} 'database is locked'),"
          f" integrity {store.db.integrity_check()[0]}, {elapsed:.1f} s wall,"
          f" {count / elapsed:.0f} runs/s (each run: 2 transactions + an fsync'ed receipt)")


HOLDER = """
import sys, time
from pathlib import Path
from nbprod.store import Store
store = Store.open(Path(sys.argv[1]).parent, store_dir=sys.argv[1])
with store.db.write() as conn:
    conn.execute("UPDATE runs SET heartbeat = heartbeat")
    print("held", flush=True)
    time.sleep(600)
"""


def bench_stale_lock(work: Path) -> None:
    store = Store.open(work / "lock")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store.path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    holder.stdout.close()
    started = time.perf_counter()
    store.begin_run("nb.ipynb", "blake3:" + "0" * 64, {})
    elapsed = time.perf_counter() - started
    print(f"\nstale lock: next write {elapsed * 1000:.1f} ms after the lock holder was"
          " kill -9'd (target <= 1 s)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--procs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-hash-") as tmp:
        work = Path(tmp)
        bench_hashing(work, args.size_mib * 2**20, args.repeat)
        bench_environment(work)
        bench_stale_lock(work)
        bench_concurrency(work, args.procs, args.runs)


if __name__ == "__main__":
    main()
