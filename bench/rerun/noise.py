"""The noise report: what ``nbprod lint`` finds on a folder of real notebooks, per rule, and
a sample of findings of each frequent nbprod rule to judge by hand.

    .venv/bin/python bench/rerun/noise.py CORPUS [--sample 5] [--min-count 10] [--seed 0]
        [-- EXTRA LINT OPTIONS]

Lints the folder as a user would (``nbprod lint CORPUS --output-format json --exit-zero
--no-cache``, plus any options after ``--``), then prints:

- the number of notebooks and findings, and the median and mean number of NB findings per
  notebook (notebooks without findings count as 0);
- per code: findings, notebooks with at least one, most in one notebook;
- for each NB code with at least ``--min-count`` findings, ``--sample`` findings drawn at
  random (``--seed``), each with the code of its cell, to judge as true or false positive.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path


def lint(corpus: Path, extra: list[str]) -> list[dict]:
    command = [sys.executable, "-m", "nbprod", "lint", str(corpus), "--output-format", "json",
               "--exit-zero", "--no-cache", *extra]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"nbprod lint failed (exit {proc.returncode}): {proc.stderr[-500:]}")
    return json.loads(proc.stdout)


def cell_source(path: str, cell: int | None, limit: int = 6) -> str:
    """The first lines of a cell's source, indented, for judging a finding by eye."""
    if not cell:
        return "    (whole notebook)"
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        source = nb["cells"][cell - 1].get("source", "")
    except (OSError, ValueError, KeyError, IndexError):
        return "    (cell not readable)"
    text = "".join(source) if isinstance(source, list) else str(source)
    lines = text.splitlines()[:limit]
    return "\n".join(f"    | {line[:110]}" for line in lines) or "    | (empty)"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--sample", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    findings = lint(args.corpus, extra)
    # Hidden folders inside the corpus (checkpoints) are skipped, as nbprod lint skips them;
    # the corpus's own path may well start with "..".
    notebooks = sorted(p for p in args.corpus.rglob("*.ipynb")
                       if not any(part.startswith(".")
                                  for part in p.relative_to(args.corpus).parts))
    nb_per_notebook = Counter(f["filename"] for f in findings if f["code"].startswith("NB"))
    values = [nb_per_notebook.get(str(p), 0) for p in notebooks]
    print(f"notebooks {len(notebooks)}, findings {len(findings)}"
          f" (NB {sum(values)}, ruff {len(findings) - sum(values)})")
    print(f"NB findings per notebook: median {statistics.median(values)},"
          f" mean {statistics.mean(values):.2f}, max {max(values, default=0)}")
    by_code: dict[str, list[dict]] = defaultdict(list)
    for f in findings:
        by_code[f["code"]].append(f)
    print("\ncode     findings  notebooks  most in one  blocks a rerun")
    for code, items in sorted(by_code.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        per = Counter(f["filename"] for f in items)
        blocking = sum(f.get("rerun_blocker", False) for f in items)
        print(f"{code:8} {len(items):8}  {len(per):9}  {max(per.values()):11}  {blocking:14}")
    rng = random.Random(args.seed)
    for code, items in sorted(by_code.items()):
        if not code.startswith("NB") or len(items) < args.min_count:
            continue
        print(f"\n## {code} ({len(items)} findings): {args.sample} sampled")
        for f in rng.sample(items, min(args.sample, len(items))):
            where = f"cell {f['cell']}" if f["cell"] else "notebook"
            name = os.path.relpath(f["filename"], args.corpus)
            print(f"- {name} {where}: {f['message'][:150]}")
            print(cell_source(f["filename"], f["cell"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
