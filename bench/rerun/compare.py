"""Compare ``nbprod lint``'s rerun verdict with the recorded truth table (``run_truth.py``).

    .venv/bin/python bench/rerun/compare.py CORPUS [--truth bench/rerun/truth.tsv]
        [--no-network] [--rows]

Lints the notebooks of the truth table, as a user would (``nbprod lint --rerun
--output-format json --no-cache``, one process), and reports:

- precision of "will fail": of the notebooks nbprod says will fail, how many did;
- recall: of the notebooks that failed, how many nbprod said would;
- cell accuracy: of the true "will fail" verdicts, how many name the cell that failed.

Timeouts are left out (a slow notebook is not a failed one). ``--no-network`` also leaves
out the notebooks whose first error is a network error: on a machine without network they
fail, and nbprod does not claim to predict that. ``--rows`` prints one line per notebook.
The targets are precision >= 0.9, recall >= 0.8 and cell accuracy >= 0.8.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NETWORK_ERRORS = ("URLError", "HTTPError", "ConnectionError", "gaierror", "Timeout")
TARGETS = {"precision": 0.9, "recall": 0.8, "cell accuracy": 0.8}


def read_truth(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def lint_verdicts(corpus: Path, paths: list[str]) -> dict[str, dict]:
    """relative path -> nbprod's verdict object (``--rerun --output-format json``)."""
    command = [sys.executable, "-m", "nbprod", "lint", "--rerun", "--output-format", "json",
               "--exit-zero", "--no-cache", *(str(corpus / p) for p in paths)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"nbprod lint failed (exit {proc.returncode}): {proc.stderr[-500:]}")
    found = {}
    for item in json.loads(proc.stdout):
        found[str(Path(item["filename"]).resolve().relative_to(corpus.resolve()))] = item
    return found


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--truth", type=Path, default=HERE / "truth.tsv")
    parser.add_argument("--no-network", action="store_true",
                        help="leave out notebooks whose first error is a network error")
    parser.add_argument("--rows", action="store_true", help="one line per notebook")
    args = parser.parse_args(argv)
    rows = [r for r in read_truth(args.truth) if r["outcome"] != "timeout"]
    if args.no_network:
        rows = [r for r in rows if not r["ename"].endswith(NETWORK_ERRORS)]
    verdicts = lint_verdicts(args.corpus, [r["path"] for r in rows])
    tp = fp = fn = tn = cell_right = 0
    for row in rows:
        v = verdicts[row["path"]]
        failed = row["outcome"] == "failed"
        predicted = v["will_fail"]
        same_cell = predicted and failed and str(v["cell"]) == row["cell"]
        tp += predicted and failed
        fp += predicted and not failed
        fn += failed and not predicted
        tn += not failed and not predicted
        cell_right += same_cell
        if args.rows:
            label = ("TP" if failed else "FP") if predicted else ("FN" if failed else "TN")
            said = f"cell {v['cell']} {v['code']}" if predicted else "-"
            truth = f"cell {row['cell']} {row['ename']}" if failed else "ok"
            mark = " (cell right)" if same_cell else ""
            print(f"{label}  {row['path']}\n    ran: {truth}: {row['evalue'][:70]}\n"
                  f"    nbprod: {said}{mark}")
    figures = {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "cell accuracy": ratio(cell_right, tp),
    }
    print(f"notebooks {len(rows)}: failed {tp + fn}, ran {fp + tn};"
          f" TP {tp} FP {fp} FN {fn} TN {tn}; named cell right {cell_right} of {tp}")
    for name, value in figures.items():
        shown = "n/a" if value is None else f"{value:.2f}"
        status = "" if value is None else ("meets" if value >= TARGETS[name] else "below")
        print(f"{name:14} {shown:>5}  (target >= {TARGETS[name]}: {status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
