"""Benchmark ``nbprod run`` (receipt included) against bare ``papermill`` on the same notebook.

Both run the same small notebook (a parameters cell, a CSV read, some arithmetic, a file
write) the same number of times, interleaved so load from other processes hits both alike.
Two views are printed, each as medians and the nbprod/papermill ratio (target <= 1.10):

* ``cli``: the commands as a user types them (``nbprod run`` vs ``papermill``), process start
  included;
* ``api``: in one process (``nbprod.run.run_notebook`` vs ``papermill.execute_notebook``),
  which isolates the run itself from import time.

The pairs alternate (nbprod then papermill, then papermill then nbprod, ...). The cli view
also reports CPU (this process's children: the tool and its kernel) and, once per tool, the
parent's imports measured with ``python -X importtime`` (modules and seconds). ``--example``
runs the project's own ``examples/notebooks/train.ipynb -p n_estimators 10`` instead.

    .venv/bin/python bench/run/bench.py [--repeat 7] [--cells 8] [--only cli|api] [--example]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
PARAMETERS = ["-p", "factor", "2.0"]


def example_project(folder: Path) -> Path:
    """A copy of the example project; its training notebook with a quick parameter."""
    for name in ("pyproject.toml", "data", "notebooks"):
        source = REPO / "examples" / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / name)
    PARAMETERS[:] = ["-p", "n_estimators", "10"]
    return folder / "notebooks" / "train.ipynb"


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


def cli_command(project: Path, notebook: Path, tool: str, out: Path) -> list[str]:
    if tool == "nbprod":
        return [str(HERE / "nbprod"), "run", str(notebook), "-q", *PARAMETERS]
    return [str(HERE / "papermill"), str(notebook), str(out), "--no-progress-bar",
            "--cwd", str(notebook.parent), *PARAMETERS]


def time_cli(project: Path, notebook: Path, tool: str, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the tool and its kernel)."""
    env = dict(os.environ, NBPROD_CEILING_DIRECTORIES=str(project))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(cli_command(project, notebook, tool, out), cwd=project, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def import_totals(project: Path, notebook: Path, tool: str, out: Path) -> tuple[int, float]:
    """(modules, seconds) the tool's own process imports, from ``python -X importtime``."""
    command = cli_command(project, notebook, tool, out)
    module = ["-m", "nbprod"] if tool == "nbprod" else ["-m", "papermill"]
    env = dict(os.environ, NBPROD_CEILING_DIRECTORIES=str(project))
    done = subprocess.run([sys.executable, "-X", "importtime", *module, *command[1:]],
                          cwd=project, env=env, capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in done.stderr.splitlines()
            if line.startswith("import time:") and "cumulative" not in line]
    top = [int(r[1]) for r in rows if not r[2][1:].startswith(" ")]  # not nested
    return len(rows), sum(top) / 1e6


def time_api(project: Path, notebook: Path, tool: str, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process); the kernel's CPU is not counted here."""
    text = PARAMETERS[2]
    values = {PARAMETERS[1]: int(text) if text.isdigit() else float(text)}
    began, cpu = time.perf_counter(), time.process_time()
    if tool == "nbprod":
        from nbprod.run import run_notebook

        result = run_notebook(notebook, {PARAMETERS[1]: PARAMETERS[2]},
                              text_parameters={PARAMETERS[1]})
        assert result.status == "succeeded", result.receipt.get("error")
    else:
        import papermill

        papermill.execute_notebook(str(notebook), str(out), parameters=values,
                                   cwd=str(notebook.parent), progress_bar=False)
    return time.perf_counter() - began, time.process_time() - cpu


def measure(view: str, repeat: int, project: Path,
            notebook: Path) -> dict[str, list[tuple[float, float]]]:
    timer = time_cli if view == "cli" else time_api
    out = project / "papermill-out.ipynb"
    times: dict[str, list[tuple[float, float]]] = {"nbprod": [], "papermill": []}
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
    parser.add_argument("--example", action="store_true",
                        help="Run examples/notebooks/train.ipynb -p n_estimators 10.")
    args = parser.parse_args()
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    what = "examples/notebooks/train.ipynb" if args.example else f"{args.cells} cells"
    print(f"nbprod run vs papermill: {what}, {args.repeat} alternated pairs,"
          f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for view in ("cli", "api"):
        if args.only and view != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            notebook = example_project(project) if args.example else make_project(
                project, args.cells)
            times = measure(view, args.repeat, project, notebook)
            if view == "cli":
                for tool in ("nbprod", "papermill"):
                    count, seconds = import_totals(project, notebook, tool,
                                                   project / "importtime-out.ipynb")
                    print(f"[{view}] {tool:9} parent imports: {count} modules, {seconds:.2f} s")
        wall = {tool: [w for w, _ in values] for tool, values in times.items()}
        cpu = {tool: [c for _, c in values] for tool, values in times.items()}
        for tool in ("nbprod", "papermill"):
            print(f"[{view}] {tool:9} median {statistics.median(wall[tool]):6.2f} s wall,"
                  f" {statistics.median(cpu[tool]):6.2f} s CPU")
        pairs = [n / p for n, p in zip(wall["nbprod"], wall["papermill"], strict=True)]
        print(f"[{view}] ratio nbprod/papermill: wall median {statistics.median(pairs):.3f}"
              f" (pairs {min(pairs):.2f}-{max(pairs):.2f}), CPU median"
              f" {statistics.median(cpu['nbprod']) / statistics.median(cpu['papermill']):.3f}"
              " (target <= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
