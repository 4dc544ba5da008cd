"""Benchmark ``nbprod run`` (receipt included) against bare ``papermill`` on the same notebook.

Both run the same small notebook (a parameters cell, a CSV read, some arithmetic, a file
write) the same number of times, interleaved so load from other processes hits both alike.
Two views are printed, each as medians and the nbprod/papermill ratio (target <= 1.10):

* ``cli``: the commands as a user types them (``nbprod run`` vs ``papermill``), process start
  included;
* ``api``: in one process (``nbprod.run.run_notebook`` vs ``papermill.execute_notebook``),
  which isolates the run itself from import time.

    .venv/bin/python bench/run/bench.py [--repeat 7] [--cells 8] [--only cli|api]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(sys.executable).parent


def make_project(folder: Path, cells: int) -> Path:
    """A project with a CSV input and a notebook of ``cells`` light code cells."""
    (folder / "pyproject.toml").write_text('[project]\nname = "bench"\n\n[tool.nbprod.run]\n',
                                          encoding="utf-8")
    (folder / "data").mkdir()
    rows = "\n".join(f"{i},{i * 0.5}" for i in range(2000))
    (folder / "data" / "in.csv").write_text("k,v\n" + rows + "\n", encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    params = nbformat.v4.new_code_cell("factor = 1.0\nlabel = 'base'")
    params.metadata.tags = ["parameters"]
    nb.cells = [params,
                nbformat.v4.new_code_cell(
                    "import csv\nrows = list(csv.reader(open('data/in.csv')))[1:]")]
    for i in range(max(0, cells - 3)):
        nb.cells.append(nbformat.v4.new_code_cell(
            f"total_{i} = sum(float(v) * factor for _, v in rows)\nprint(label, {i}, total_{i})"))
    nb.cells.append(nbformat.v4.new_code_cell(
        "with open('data/out.txt', 'w') as handle:\n    handle.write(str(len(rows)))"))
    path = folder / "bench.ipynb"
    nbformat.write(nb, path)
    return path


def time_cli(project: Path, notebook: Path, tool: str, out: Path) -> float:
    if tool == "nbprod":
        command = [str(HERE / "nbprod"), "run", str(notebook), "-q", "-p", "factor", "2.0"]
    else:
        command = [str(HERE / "papermill"), str(notebook), str(out), "--no-progress-bar",
                   "--cwd", str(project), "-p", "factor", "2.0"]
    env = dict(os.environ, NBPROD_CEILING_DIRECTORIES=str(project))
    began = time.perf_counter()
    subprocess.run(command, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def time_api(project: Path, notebook: Path, tool: str, out: Path) -> float:
    began = time.perf_counter()
    if tool == "nbprod":
        from nbprod.run import run_notebook

        result = run_notebook(notebook, {"factor": 2.0})
        assert result.status == "succeeded", result.receipt.get("error")
    else:
        import papermill

        papermill.execute_notebook(str(notebook), str(out), parameters={"factor": 2.0},
                                   cwd=str(project), progress_bar=False)
    return time.perf_counter() - began


def measure(view: str, repeat: int, project: Path, notebook: Path) -> dict[str, list[float]]:
    timer = time_cli if view == "cli" else time_api
    out = project / "papermill-out.ipynb"
    times: dict[str, list[float]] = {"nbprod": [], "papermill": []}
    timer(project, notebook, "papermill", out)  # warm the disk cache and the imports
    timer(project, notebook, "nbprod", out)
    for rep in range(repeat):
        order = ("nbprod", "papermill") if rep % 2 == 0 else ("papermill", "nbprod")
        for tool in order:
            times[tool].append(timer(project, notebook, tool, out))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--only", choices=("cli", "api"))
    args = parser.parse_args()
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    print(f"nbprod run vs papermill: {args.cells} cells, {args.repeat} interleaved repetitions,"
          f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for view in ("cli", "api"):
        if args.only and view != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            notebook = make_project(project, args.cells)
            times = measure(view, args.repeat, project, notebook)
        nb_median = statistics.median(times["nbprod"])
        pm_median = statistics.median(times["papermill"])
        print(f"[{view}] nbprod    median {nb_median:6.2f} s  min {min(times['nbprod']):6.2f} s")
        print(f"[{view}] papermill median {pm_median:6.2f} s  min {min(times['papermill']):6.2f} s")
        print(f"[{view}] ratio nbprod/papermill: median {nb_median / pm_median:.3f},"
              f" min {min(times['nbprod']) / min(times['papermill']):.3f} (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
