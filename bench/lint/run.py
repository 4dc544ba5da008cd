"""Benchmark ``nbprod lint`` against ``ruff check``, ``nbqa ruff`` and pynblint on one folder.

Every tool lints the same notebooks in the same run; repetitions are interleaved (round
robin) so that load from other processes on a shared machine spreads over all tools alike.
The table gives median and best wall times and the ratio of each median to ruff's.

    .venv/bin/python bench/lint/run.py /path/to/notebooks [--repeat 5] [--pynblint BIN]

The target is ``nbprod lint`` (every nbprod rule plus ruff's default notebook selection)
at most 1.5 times the wall time of ``ruff check`` alone with the same ruff selection.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbprod.lint.checker import LintConfig

RUFF_SELECT = ",".join(LintConfig.ruff_select)  # what nbprod passes to ruff by default
TARGET_RATIO = 1.5


def _bin(name: str) -> str | None:
    """A console script of this interpreter's environment, else one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def tools(corpus: Path, empty: Path, pynblint: str | None) -> dict[str, list[str] | None]:
    nbprod = _bin("nbprod")
    ruff = _bin("ruff")
    nbqa = _bin("nbqa")
    ruff_args = ["--isolated", "--no-cache", "--exit-zero", "--select", RUFF_SELECT]
    return {
        "ruff check": [ruff, "check", *ruff_args, "--output-format", "json", str(corpus)],
        "nbprod lint": [nbprod, "lint", str(corpus), "--exit-zero", "--output-format", "json"],
        "nbprod lint --no-ruff": [nbprod, "lint", str(corpus), "--exit-zero", "--no-ruff",
                                  "--output-format", "json"],
        "nbprod start-up (no notebooks)": [nbprod, "lint", str(empty), "--exit-zero"],
        "nbqa ruff": [nbqa, "ruff", str(corpus), *ruff_args] if nbqa else None,
        "pynblint": [pynblint, str(corpus), "--quiet", "--yes"] if pynblint else None,
    }


def run_once(command: list[str]) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def _findings(name: str, output: bytes) -> str:
    if name in ("ruff check", "nbprod lint", "nbprod lint --no-ruff"):
        try:
            text = output.decode("utf-8", "replace")
            return str(len(json.loads(text[: text.rindex("]") + 1])))
        except ValueError:
            return "?"
    return "-"


def breakdown(corpus: Path) -> None:
    """CPU seconds per phase of nbprod's own work, in this process (no pool, no ruff):
    what bounds ``nbprod lint`` from below, whatever the number of cores."""
    import ast
    import collections
    import warnings

    from nbprod.lint.checker import LintConfig
    from nbprod.lint.rule import LintContext
    from nbprod.lint.rules import rule_registry
    from nbprod.notebook import load

    warnings.simplefilter("ignore")
    clock = time.process_time
    start = clock()
    notebooks = []
    for path in sorted(corpus.rglob("*.ipynb")):
        try:
            notebooks.append(load(path))
        except Exception:  # noqa: BLE001 - unreadable files are not part of the budget
            continue
    phases = {"read + validate JSON": clock() - start}
    start = clock()
    for nb in notebooks:
        for cell in nb.code_cells:
            try:
                ast.parse(cell.source)
            except (SyntaxError, ValueError):
                pass
    phases["ast.parse of every code cell (reference)"] = clock() - start
    contexts = [LintContext(nb=nb, config=LintConfig(), project_root=None) for nb in notebooks]
    start = clock()
    for ctx in contexts:
        ctx.analysis  # noqa: B018 - computed once per notebook, shared by the rules
    phases["def-use analysis (incl. parsing)"] = clock() - start
    per_rule: collections.Counter[str] = collections.Counter()
    for code, cls in rule_registry.items():
        rule = cls()
        start = clock()
        for ctx in contexts:
            list(rule.check(ctx))
        per_rule[code] = clock() - start
    phases[f"{len(per_rule)} rules"] = sum(per_rule.values())
    ruff = _bin("ruff")
    before = os.times()
    subprocess.run([ruff, "check", "--isolated", "--no-cache", "--exit-zero", "--select",
                    RUFF_SELECT, "--output-format", "json", str(corpus)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = os.times()
    phases["ruff check (CPU of the subprocess)"] = (
        after.children_user + after.children_system - before.children_user
        - before.children_system
    )
    print(f"CPU seconds per phase ({len(notebooks)} notebooks):")
    for name, seconds in phases.items():
        print(f"  {name:44s} {seconds:6.2f}")
    slowest = ", ".join(f"{code} {sec:.2f}" for code, sec in per_rule.most_common(8))
    print(f"  slowest rules: {slowest}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of notebooks (searched recursively)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per tool")
    parser.add_argument("--pynblint", default=_bin("pynblint"),
                        help="pynblint executable (it needs its own venv: see README)")
    parser.add_argument("--breakdown", action="store_true",
                        help="print CPU seconds per phase of nbprod's work, then exit")
    args = parser.parse_args()
    if args.breakdown:
        breakdown(args.corpus)
        return 0
    notebooks = sorted(args.corpus.rglob("*.ipynb"))
    if not notebooks:
        parser.error(f"no notebooks under {args.corpus}")
    size = sum(p.stat().st_size for p in notebooks)
    with tempfile.TemporaryDirectory() as empty:
        commands = tools(args.corpus, Path(empty), args.pynblint)
        missing = [name for name, cmd in commands.items() if not cmd or not cmd[0]]
        commands = {k: v for k, v in commands.items() if k not in missing}
        times: dict[str, list[float]] = {name: [] for name in commands}
        found: dict[str, str] = {}
        load_before = os.getloadavg()[0]
        for rep in range(args.repeat):
            names = list(commands)
            names = names[rep % len(names):] + names[: rep % len(names)]  # rotate the order
            for name in names:
                elapsed, code, output = run_once(commands[name])
                if code not in (0, 1):
                    tail = output[-2000:].decode(errors="replace")
                    print(f"{name} failed (exit {code}):\n{tail}", file=sys.stderr)
                    return 2
                times[name].append(elapsed)
                found[name] = _findings(name, output)
        load_after = os.getloadavg()[0]
    ruff_median = statistics.median(times["ruff check"])
    print(f"{len(notebooks)} notebooks, {size / 2**20:.1f} MiB, {args.repeat} repetitions,"
          f" {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")
    print(f"{'tool':32s} {'median s':>9s} {'best s':>8s} {'x ruff':>7s} {'findings':>9s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:32s} {median:9.2f} {min(values):8.2f} {median / ruff_median:7.2f}"
              f" {found[name]:>9s}")
    for name in missing:
        print(f"{name:32s} not installed (see bench/lint/README.md)")
    ratio = statistics.median(times["nbprod lint"]) / ruff_median
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"target nbprod lint <= {TARGET_RATIO}x ruff check: {ratio:.2f}x, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
