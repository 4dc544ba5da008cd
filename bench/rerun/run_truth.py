"""Run notebooks top to bottom in a fresh kernel and record how each run ended: the truth
that ``nbprod lint``'s rerun verdict is measured against (``compare.py``).

    .venv/bin/python bench/rerun/run_truth.py CORPUS [--list bench/rerun/notebooks.txt]
        [--out bench/rerun/truth.tsv] [--timeout 120] [--jobs 2]

Each notebook named in the list (paths relative to ``CORPUS``) runs with papermill in the
``python3`` kernel of this environment, with a copy of its own folder as working directory
(notebooks write figures and files beside themselves; the corpus itself is never written
to). The whole run of one notebook is limited to ``--timeout`` seconds. Nothing is
excused: a cell that needs the network fails on a machine without it, and that is
recorded like any other failure (``compare.py`` can set network failures aside).

The table has one row per notebook: ``path``, ``outcome`` (``ok``, ``failed``,
``timeout``), ``cell`` (the 1-based index, over all cells as nbprod counts, of the first
cell whose output is an error), ``ename``, ``evalue`` (its first line) and ``seconds``.
Running costs CPU: run it once and commit the table; the comparison reuses it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FIELDS = ("path", "outcome", "cell", "ename", "evalue", "seconds")
HERE = Path(__file__).resolve().parent
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"


def first_error(output: Path) -> tuple[int | None, str, str]:
    """(cell, ename, evalue) of the first error output in the executed notebook."""
    try:
        nb = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "", ""
    # Papermill adds two markdown cells when a cell fails (a banner at the top, an anchor
    # above the failing cell); without them, the cells are numbered as in the input.
    cells = [c for c in nb.get("cells", [])
             if PAPERMILL_ERROR_TAG not in c.get("metadata", {}).get("tags", [])]
    for index, cell in enumerate(cells, start=1):
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error":
                evalue = str(out.get("evalue", "")).strip().splitlines()
                return index, str(out.get("ename", "")), (evalue[0] if evalue else "")[:200]
    return None, "", ""


def run_one(corpus: Path, relative: str, timeout: int) -> dict:
    """Run one notebook in a copy of its folder; the row of the truth table."""
    source = corpus / relative
    with tempfile.TemporaryDirectory(prefix="nbprod-rerun-") as tmp:
        folder = Path(tmp) / "work"
        shutil.copytree(source.parent, folder, ignore=shutil.ignore_patterns("*.ipynb"))
        notebook = folder / source.name
        shutil.copy2(source, notebook)
        output = Path(tmp) / "output.ipynb"
        command = [
            sys.executable, "-m", "papermill", str(notebook), str(output),
            "--kernel", "python3", "--cwd", str(folder),
            "--execution-timeout", str(timeout), "--no-progress-bar", "--log-level", "ERROR",
        ]
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
        start = time.monotonic()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env, start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # papermill and its kernel
            _, stderr = proc.communicate()
            timed_out = True
        seconds = round(time.monotonic() - start, 1)
        cell, ename, evalue = first_error(output)
        if timed_out:
            outcome = "timeout"
        elif proc.returncode == 0 and cell is None:
            outcome = "ok"
        else:
            outcome = "failed"
            if cell is None:  # papermill could not start the notebook at all
                lines = stderr.decode("utf-8", "replace").strip().splitlines()
                ename, evalue = "PapermillError", (lines[-1] if lines else "")[:200]
    return {"path": relative, "outcome": outcome, "cell": cell or "", "ename": ename,
            "evalue": evalue.replace("\t", " "), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--list", type=Path, default=HERE / "notebooks.txt")
    parser.add_argument("--out", type=Path, default=HERE / "truth.tsv")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    names = [line.strip() for line in args.list.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    missing = [n for n in names if not (args.corpus / n).is_file()]
    if missing:
        print(f"error: not in {args.corpus}: {', '.join(missing[:3])}", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(max_workers=max(1, min(args.jobs, 2))) as pool:
        rows = []
        for row in pool.map(lambda n: run_one(args.corpus, n, args.timeout), names):
            print(f"{row['outcome']:8} {row['cell'] or '-':>4} {row['seconds']:6}s"
                  f"  {row['path']}  {row['ename']}", file=sys.stderr)
            rows.append(row)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: r["path"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
