"""Benchmark: 16 runs of a ~2 s notebook, sequential papermill vs ``nbprod sweep``.

Compares, in one run on this machine:

* papermill, sequentially, through its Python API in one process (its best case: no
  interpreter start-up per run);
* ``nbprod sweep`` on the local executor (notebook runs on threads of the nbprod process, each
  with its own kernel), receipts and the run store included;
* the same sweep on a Dask cluster on loopback (``dask scheduler`` + workers started before
  the timing, as a user's running cluster would be, with ``--preload nbprod.pipeline.worker``
  as the docs advise).

Usage: .venv/bin/python bench/sweep/bench_sweep.py [--runs 16] [--workers N]

``--workers`` (runs in flight; default: the local executor's default, two per core) is passed
to both nbprod sweeps as ``--max-parallel`` and is the number of Dask workers.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from nbprod.pipeline.executors import LocalExecutor

BIN = Path(sys.executable).parent

# About 2 s per run: half a second of CPU, then waiting (as a notebook that queries a
# database or an API would).
CELLS = [
    ("i: int = 0", ["parameters"]),
    ("import time\nstart = time.perf_counter()\nwhile time.perf_counter() - start < 0.5:\n"
     "    sum(range(1000))\ntime.sleep(1.5)", []),
    ("import nbprod\nnbprod.record('i_squared', i * i)", []),
]


def make_project(root: Path) -> Path:
    (root / "pyproject.toml").write_text('[project]\nname = "bench"\n')
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}}
    for index, (source, tags) in enumerate(CELLS):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"c{index}"
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path = root / "work.ipynb"
    nbformat.write(nb, path)
    return path


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    process = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{process.stdout}\n{process.stderr}")
    return elapsed


def papermill_sequential(notebook: Path, runs: int) -> float:
    import papermill

    out = notebook.parent / "papermill-out"
    out.mkdir(exist_ok=True)
    started = time.perf_counter()
    for i in range(runs):
        papermill.execute_notebook(str(notebook), str(out / f"run-{i}.ipynb"),
                                   parameters={"i": i}, progress_bar=False, log_output=False)
    return time.perf_counter() - started


def start_cluster(folder: Path, workers: int) -> tuple[str, list[subprocess.Popen]]:
    loopback = ["--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    scheduler_file = folder / "scheduler.json"
    processes = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--port", "0", *loopback, "--scheduler-file",
         str(scheduler_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)]
    while not scheduler_file.exists():
        time.sleep(0.1)
    time.sleep(0.2)
    address = json.loads(scheduler_file.read_text())["address"]
    for _ in range(workers):
        processes.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", address, *loopback, "--nthreads", "1",
             "--memory-limit", "0", "--preload", "nbprod.pipeline.worker"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True))
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, processes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=LocalExecutor.default_parallelism())
    options = parser.parse_args()
    values = ",".join(str(i) for i in range(options.runs))
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-sweep-") as tmp:
        root = Path(tmp)
        notebook = make_project(root)
        print(f"{options.runs} runs of a ~2 s notebook, {options.workers} workers,"
              f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
        papermill_s = papermill_sequential(notebook, options.runs)
        print(f"papermill, sequential (Python API):   {papermill_s:7.1f} s", flush=True)
        sweep = [str(BIN / "nbprod"), "sweep", "work.ipynb", "-p", "i", values,
                 "--max-parallel", str(options.workers), "--output-format", "csv"]
        local_s = timed(sweep, root)
        print(f"nbprod sweep, local executor:         {local_s:7.1f} s"
              f"   {papermill_s / local_s:4.2f}x faster than papermill", flush=True)
        address, processes = start_cluster(root, options.workers)
        try:
            dask_s = timed([*sweep, "--executor", "dask", "--cluster", address], root)
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        print(f"nbprod sweep, Dask cluster (loopback): {dask_s:6.1f} s"
              f"   {dask_s - local_s:+.1f} s vs local", flush=True)
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine"
              " skews every figure)")
        print()
        print(f"target: local >= 1.80x faster than papermill -> {papermill_s / local_s:.2f}x"
              f" {'ok' if papermill_s / local_s >= 1.8 else 'MISSED'}")
        print(f"target: Dask within 2 s of local -> {dask_s - local_s:+.1f} s"
              f" {'ok' if dask_s - local_s <= 2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
