"""Benchmark ``nbprod serve`` against a minimal hand-written FastAPI app on the same model.

The example project is exported and run once (``n_estimators`` 50), its model aliased
``wine@champion``; then two services run side by side on 127.0.0.1, one uvicorn worker each:

* ``nbprod``: ``nbprod serve notebooks/train.ipynb --model wine@champion`` (schema validation,
  Prometheus metrics and the drift window all on);
* ``bare``: ``bare_app.py``, the same ``wine.train.predict`` and model, nothing else.

* ``mlflow`` (with ``--mlflow PYTHON``, a Python that has mlflow, scikit-learn and skops:
  mlflow's pins live apart from nbprod's): ``mlflow models serve`` of the same estimator saved
  with ``mlflow.sklearn``. It serves the estimator alone, so the client sends the rows with the
  notebook's derived feature already computed: mlflow does less work per request.

For each payload (one record, 100 records) and concurrency (1, 8, 32) an httpx client sends
the same requests to each service, alternating which goes first over ``--rounds`` rounds after
a warm-up, and records every request's latency. Printed: p50 and p99 latency, throughput, and
the nbprod/bare p50 ratio (target <= 1.2).

    .venv/bin/python bench/serve/bench.py [--requests 400] [--rounds 2] [--mlflow PYTHON]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nbprod(*args, cwd: Path) -> str:
    return subprocess.run([str(BIN / "nbprod"), *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


def prepare(folder: Path) -> tuple[Path, dict]:
    """The example project, exported and run, its model aliased; returns it and the model."""
    project = folder / "examples"
    shutil.copytree(REPO / "examples", project)
    _nbprod("export", "notebooks/train.ipynb", cwd=project)
    _nbprod("run", "notebooks/train.ipynb", cwd=project)
    run_id = json.loads(_nbprod("runs", "list", "--output-format", "json", cwd=project))[0][
        "run_id"]
    _nbprod("models", "alias", "wine@champion", run_id, cwd=project)
    shown = json.loads(_nbprod("models", "show", "wine@champion", "--output-format", "json",
                               cwd=project))
    receipt = json.loads(_nbprod("runs", "show", run_id, "--output-format", "json",
                                 cwd=project))
    return project, {**shown["model"], "trusted": receipt["models"][0]["trusted"]}


def start(command: list[str], cwd: Path, env: dict, log: Path,
          ready: str = "/ready") -> tuple[subprocess.Popen, str]:
    """Start a service and wait until ``ready`` answers 200."""
    port = _free_port()
    with open(log, "wb") as sink:
        process = subprocess.Popen([part.format(port=port) for part in command], cwd=cwd,
                                   env={**os.environ, **env}, stdout=sink,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + ready, timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{command[0]} did not start: {log.read_text()}")


async def load(url: str, bodies: list[bytes], concurrency: int,
               path: str = "/predict") -> tuple[list[float], float, int]:
    """Send every body with ``concurrency`` requests in flight; latencies, wall time and the
    number of requests that failed at the connection (not counted in the latencies)."""
    latencies: list[float] = []
    failed = 0
    queue = list(reversed(bodies))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal failed
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                try:
                    answer = await client.post(path, content=body,
                                               headers={"content-type": "application/json"})
                except httpx.TransportError:
                    failed += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"{url}: {answer.status_code} {answer.text[:300]}")

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - began, failed


def _bodies(project: Path, size: int, count: int, mlflow: bool = False) -> list[bytes]:
    """Request bodies of ``size`` rows; mlflow's carry the derived feature, in its format."""
    import csv

    with open(project / "data" / "wine.csv", encoding="utf-8") as handle:
        rows = [{k: float(v) for k, v in row.items() if k != "target"}
                for row in csv.DictReader(handle)]
    if mlflow:
        rows = [dict(row, flavanoid_share=row["flavanoids"] / row["total_phenols"])
                for row in rows]
    bodies = []
    for i in range(count):
        chosen = [rows[(i * size + j) % len(rows)] for j in range(size)]
        body = {"dataframe_records": chosen} if mlflow else (
            chosen[0] if size == 1 else {"records": chosen})
        bodies.append(json.dumps(body).encode())
    return bodies


def start_mlflow(python: Path, project: Path, model: dict, scratch: Path):
    """Save the stored estimator as an MLflow model and serve it (``mlflow models serve``)."""
    digest = model["hash"].removeprefix("blake3:")
    saved = scratch / "mlflow-model"
    code = ("import json, sys, skops.io as sio, mlflow.sklearn\n"
            "trusted = json.loads(sys.argv[3])\n"
            "model = sio.loads(open(sys.argv[1], 'rb').read(), trusted=trusted)\n"
            "mlflow.sklearn.save_model(model, sys.argv[2], skops_trusted_types=trusted)\n")
    objects = project / ".nbprod" / "objects"
    subprocess.run([str(python), "-c", code, str(objects / digest[:2] / digest[2:]), str(saved),
                    json.dumps(model["trusted"])], check=True, capture_output=True)
    env = {"PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    return start([str(python.parent / "mlflow"), "models", "serve", "-m", str(saved),
                  "--env-manager", "local", "-h", "127.0.0.1", "-p", "{port}"], scratch, env,
                 scratch / "mlflow.log", ready="/ping")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds per service")
    parser.add_argument("--mlflow", type=Path, default=None,
                        help="a Python with mlflow, scikit-learn and skops: adds mlflow serve")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="nbprod-bench-serve-"))
    project, model = prepare(scratch)
    store = project / ".nbprod" / "objects"
    digest = model["hash"].removeprefix("blake3:")
    services = {}
    processes = []
    try:
        process, services["nbprod"] = start(
            [str(BIN / "nbprod"), "serve", "notebooks/train.ipynb", "--model", "wine@champion",
             "--port", "{port}"], project, {}, scratch / "nbprod.log")
        processes.append(process)
        shutil.copy(HERE / "bare_app.py", project / "bare_app.py")
        process, services["bare"] = start(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port",
             "{port}"], project,
            {"BENCH_MODEL": str(store / digest[:2] / digest[2:]),
             "BENCH_TRUSTED": json.dumps(model["trusted"])}, scratch / "bare.log")
        processes.append(process)
        if args.mlflow:
            process, services["mlflow"] = start_mlflow(args.mlflow, project, model, scratch)
            processes.append(process)
        print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; "
              f"{args.requests} requests x {args.rounds} rounds per cell")
        print(f"{'rows':>4} {'conc':>4} {'service':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'req/s':>8} {'rows/s':>8} {'failed':>6}")
        for size in (1, 100):
            plain = _bodies(project, size, args.requests)
            bodies = {name: (_bodies(project, size, args.requests, mlflow=True), "/invocations")
                      if name == "mlflow" else (plain, "/predict") for name in services}
            for concurrency in (1, 8, 32):
                results: dict[str, tuple[list[float], float, int]] = {
                    n: ([], 0.0, 0) for n in services}
                for name in services:  # warm-up
                    asyncio.run(load(services[name], bodies[name][0][:50], concurrency,
                                     bodies[name][1]))
                for round_ in range(args.rounds):
                    order = list(services) if round_ % 2 == 0 else list(reversed(list(services)))
                    for name in order:
                        lat, wall, failed = asyncio.run(load(
                            services[name], bodies[name][0], concurrency, bodies[name][1]))
                        results[name] = (results[name][0] + lat, results[name][1] + wall,
                                         results[name][2] + failed)
                p50 = {}
                for name, (lat, wall, failed) in results.items():
                    p50[name] = statistics.median(lat)
                    rate = len(lat) / wall
                    print(f"{size:>4} {concurrency:>4} {name:>7} {p50[name] * 1000:>8.2f} "
                          f"{_quantile(lat, 0.99) * 1000:>8.2f} {rate:>8.0f} {rate * size:>8.0f}"
                          f" {failed:>6}")
                print(f"{'':>4} {'':>4} {'ratio':>7} {p50['nbprod'] / p50['bare']:>8.2f}"
                      "  (nbprod p50 / bare p50)")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
