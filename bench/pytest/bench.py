"""Wall time of ``pytest --nbprod`` against ``pytest --nbmake`` on the same notebooks.

Both plugins run every notebook top to bottom in a fresh kernel, spread over the same number
of pytest-xdist workers. The script writes the notebooks into a temporary project (or takes a
folder of your own with --notebooks), runs each tool ``--repeat`` times in alternation, and prints
the median wall time of each and the ratio nbprod / nbmake (the target is <= 1.0).

    .venv/bin/python bench/pytest/bench.py            # 16 generated notebooks, -n 2, 3 repeats
    .venv/bin/python bench/pytest/bench.py --count 32 --workers 2 --repeat 5
    .venv/bin/python bench/pytest/bench.py --notebooks path/to/folder
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

CELLS = [
    "import json\nimport math\nimport random",
    "size = 2000  # rows",
    "rng = random.Random(0)\nvalues = [rng.gauss(0, 1) for _ in range(size)]",
    "mean = sum(values) / len(values)\n"
    "spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))\n"
    "print(round(mean, 3), round(spread, 3))",
    "table = {str(i): v for i, v in enumerate(values[:50])}\njson.dumps(table)[:60]",
    "def bucket(v):\n    return int(v * 4)\n\n"
    "counts = {}\nfor v in values:\n    counts[bucket(v)] = counts.get(bucket(v), 0) + 1\n"
    "sorted(counts.items())[:5]",
    "for step in range(3):\n    print('step', step)",
    "assert len(values) == size",
]


def write_notebooks(folder: Path, count: int) -> None:
    """``count`` small notebooks of plain Python (no third-party imports, no files)."""
    for index in range(count):
        nb = nbformat.v4.new_notebook()
        nb.metadata = {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        }
        nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
        nbformat.write(nb, folder / f"nb_{index:03d}.ipynb")


def run(tool: str, folder: Path, workers: int) -> tuple[float, int]:
    """One pytest run; returns (wall seconds, exit code)."""
    command = [
        sys.executable, "-m", "pytest", f"--{tool}", "-q", "-p", "no:cacheprovider",
        "-n", str(workers), "--rootdir", str(folder), str(folder),
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        summary = result.stdout.split("short test summary info")[-1]
        print(f"pytest --{tool} failed:\n{summary[-3000:]}{result.stderr[-1000:]}", file=sys.stderr)
    return elapsed, result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16, help="generated notebooks")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (-n)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--notebooks", type=Path, help="a folder of notebooks to use instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nbprod-bench-") as tmp:
        folder = Path(tmp)
        if args.notebooks:
            for path in sorted(args.notebooks.glob("*.ipynb")):
                shutil.copy(path, folder / path.name)
        else:
            write_notebooks(folder, args.count)
        # An empty project file keeps pytest and nbprod from reading this repository's config.
        (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
        count = len(list(folder.glob("*.ipynb")))
        times: dict[str, list[float]] = {"nbprod": [], "nbmake": []}
        run("nbprod", folder, args.workers)  # warm the file cache for both tools
        for repeat in range(args.repeat):
            order = ("nbprod", "nbmake") if repeat % 2 == 0 else ("nbmake", "nbprod")
            for tool in order:
                elapsed, code = run(tool, folder, args.workers)
                if code != 0:
                    print(f"{tool}: pytest exited {code}", file=sys.stderr)
                    return 1
                times[tool].append(elapsed)
    nbprod, nbmake = (statistics.median(times[t]) for t in ("nbprod", "nbmake"))
    print(f"notebooks: {count}   workers (-n): {args.workers}   repeats: {args.repeat}")
    for tool in ("nbprod", "nbmake"):
        runs = " ".join(f"{t:.2f}" for t in times[tool])
        print(f"pytest --{tool:7s} median {statistics.median(times[tool]):6.2f} s   runs: {runs}")
    ratio = nbprod / nbmake
    verdict = "meets" if ratio <= 1.0 else "misses"
    print(f"ratio nbprod / nbmake: {ratio:.2f}x  ({verdict} the <= 1.0x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
