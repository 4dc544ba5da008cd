"""Benchmark: a no-change rerun of a 5-step pipeline (every step must come from the cache).

Builds a project whose pipeline has five notebook steps chained by data files, runs it once
(every step executes in a kernel), then times:

* the interpreter and CLI start-up alone (``nbprod --version``), the floor of any command;
* ``nbprod pipeline run`` again with nothing changed (cache lookups, hashing of inputs,
  restoring nothing);
* the same rerun in process (``run_pipeline``), which is the rerun minus start-up.

Usage: .venv/bin/python bench/pipeline/bench_pipeline.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

BIN = Path(sys.executable).parent
STEPS = 5


def make_project(root: Path) -> None:
    table = ["[project]", 'name = "bench"', "", "[tool.nbprod.pipeline]", 'name = "chain"']
    (root / "data").mkdir()
    (root / "data" / "raw.csv").write_text("".join(f"{i},{i * i}\n" for i in range(10000)))
    for n in range(1, STEPS + 1):
        source = "data/raw.csv" if n == 1 else f"data/step{n - 1}.csv"
        target = f"data/step{n}.csv"
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}}
        params = nbformat.v4.new_code_cell("factor: int = 2")
        params.metadata["tags"] = ["parameters"]
        body = nbformat.v4.new_code_cell(
            f"rows = [line.split(',') for line in open({source!r}).read().split()]\n"
            f"with open({target!r}, 'w') as out:\n"
            "    for a, b in rows:\n"
            "        out.write(f'{a},{int(b) * factor % 1000003}\\n')")
        params.id, body.id = "p", "b"
        nb.cells += [params, body]
        nbformat.write(nb, root / f"step{n}.ipynb")
        table += ["", "[[tool.nbprod.pipeline.steps]]", f'name = "step{n}"',
                  f'notebook = "step{n}.ipynb"', f'inputs = ["{source}"]',
                  f'outputs = ["{target}"]']
    (root / "pyproject.toml").write_text("\n".join(table) + "\n")


def run(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    process = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{process.stdout}\n{process.stderr}")
    return elapsed, process.stdout


def in_process_rerun(root: Path) -> tuple[float, list[str]]:
    from nbprod.config import load_project_config
    from nbprod.pipeline.build import build_pipeline
    from nbprod.pipeline.config import load_pipeline_config
    from nbprod.pipeline.executors import LocalExecutor
    from nbprod.pipeline.orchestrate import run_pipeline
    from nbprod.pipeline.plan import plan_pipeline
    from nbprod.store import open_project_store

    started = time.perf_counter()
    project = load_project_config(root)
    source = build_pipeline(project, load_pipeline_config(project))
    plan = plan_pipeline(source.pipeline, root=root)
    result = run_pipeline(plan, source, LocalExecutor(max_parallel=2), root=root,
                          store=open_project_store(root))
    return time.perf_counter() - started, [o.status for o in result.outcomes.values()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    nbprod = str(BIN / "nbprod")
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-pipeline-") as tmp:
        root = Path(tmp)
        make_project(root)
        first, _ = run([nbprod, "pipeline", "run", "--output-format", "json"], root)
        print(f"first run, {STEPS} steps executed:        {first:6.2f} s")
        startup = statistics.median(run([nbprod, "--version"], root)[0]
                                    for _ in range(options.repeat))
        reruns, statuses = [], set()
        for _ in range(options.repeat):
            elapsed, out = run([nbprod, "pipeline", "run", "--output-format", "json"], root)
            reruns.append(elapsed)
            statuses |= {s["status"] for s in json.loads(out)["steps"]}
        rerun = statistics.median(reruns)
        inproc = statistics.median(in_process_rerun(root)[0] for _ in range(options.repeat))
        print(f"start-up (nbprod --version), median:   {startup:6.2f} s")
        print(f"no-change rerun (CLI), median:         {rerun:6.2f} s   statuses: "
              f"{', '.join(sorted(statuses))}")
        print(f"no-change rerun beyond start-up:       {rerun - startup:6.2f} s")
        print(f"no-change rerun in process, median:    {inproc:6.2f} s")
        print(f"rerun / first run:                     {rerun / first:6.2f}x")
        print(f"load average: {os.getloadavg()[0]:.1f}")
        print()
        ok = statuses == {"cached"} and rerun - startup < 1.0
        print(f"target: every step cached and < 1 s beyond start-up -> "
              f"{'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
