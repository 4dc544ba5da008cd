"""Benchmark ``nbprod lint`` against ``ruff check``, ``nbqa ruff`` and pynblint on one folder.

Every tool lints the same notebooks in the same run; repetitions are interleaved (round
robin) so that load from other processes on a shared machine spreads over all tools alike.
The table gives median and best wall times and the ratio of each median to cold ruff's.

    .venv/bin/python bench/lint/run.py /path/to/notebooks [--repeat 5] [--pynblint BIN]

Both linters cache their results by default, so each is timed cold (``--no-cache``) and
with its cache, warmed by one untimed run; ``nbprod lint`` is also timed with one notebook
changed since its cache was written, the usual case while editing. The target is
``nbprod lint`` (every nbprod rule plus ruff's default notebook selection) with its cache at
most 1.5 times the wall time of ``ruff check`` with its cache and the same ruff selection;
the cold ratio is reported, not judged.

The tools run on copies of the folder in a temporary directory, never on the folder itself:
one notebook is rewritten there, nbqa writes temporary files beside the notebooks, and both
caches live there too, not in the user's cache folder.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbprod
from nbprod.lint.cache import RACY_SECONDS
from nbprod.lint.checker import LintConfig

RUFF_SELECT = ",".join(LintConfig.ruff_select)  # what nbprod passes to ruff by default
TARGET_RATIO = 1.5
PACKAGE = Path(nbprod.__file__).resolve().parent
COLD_RUFF = "ruff check --no-cache"
CACHED_RUFF = "ruff check (cached)"
COLD_NBPROD = "nbprod lint --no-cache"
CACHED_NBPROD = "nbprod lint (cached)"
CHANGED_NBPROD = "nbprod lint, one notebook changed"
CLONED_NBPROD = "nbprod lint (cached, fresh clone)"
#: Ruff in the same situation: its cache restored onto a fresh clone, where it keys files by
#: modification time, so it lints everything again. Reported beside the target, not judged.
CLONED_RUFF = "ruff check (cached, fresh clone)"
#: The cache restored onto a fresh clone (CI) against ruff's own warm cache.
CLONE_TARGET_RATIO = 1.0
#: Rows running the same rules: the cache must not change what they find.
SAME_FINDINGS = (COLD_NBPROD, CACHED_NBPROD, CHANGED_NBPROD, CLONED_NBPROD)


@dataclass
class Row:
    """One timed command. ``env`` is added to the environment (nbprod's cache folder);
    a ``warm`` row runs once untimed before the timing, to fill its cache; ``prepare``
    runs untimed before each timed run."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    warm: bool = False
    prepare: Callable[[], None] | None = None


def _bin(name: str) -> str | None:
    """A console script of this interpreter's environment, else one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def compile_nbprod() -> None:
    """Byte-compile nbprod's modules, as pip does when it installs a wheel. An editable
    install run with PYTHONDONTWRITEBYTECODE=1 has no .pyc files, so every nbprod process
    would compile its modules afresh (about 0.1 s), a cost no installed copy pays."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(PACKAGE)], check=True)
    print(f"byte-compiled {PACKAGE} (python -m compileall -q), as an installed wheel is")


def source_stamp() -> list[tuple[str, int]]:
    """nbprod's modules and their modification times. nbprod's cache is keyed by them, so
    a module edited during the run (in an editable install) voids the warmed caches."""
    return sorted((str(p), p.stat().st_mtime_ns) for p in PACKAGE.rglob("*.py"))


def middle_notebook(folder: Path) -> Path:
    """The notebook of median size: the one the "one notebook changed" row edits."""
    notebooks = sorted(folder.rglob("*.ipynb"), key=lambda p: (p.stat().st_size, str(p)))
    return notebooks[len(notebooks) // 2]


def edit(notebook: Path) -> Callable[[], None]:
    """Save ``notebook`` as an editor does: write a temporary file beside it, rename it over.
    One more newline after the closing brace keeps it the same valid JSON but changes its
    size and times, so nbprod's cache relints it (and only it: the folder's own change is not
    something a rule looks at). Saved less than ``RACY_SECONDS`` before the run, it is not
    cached again either: every repetition relints exactly this notebook."""

    def prepare() -> None:
        temporary = notebook.with_name(f".~{notebook.name}")
        temporary.write_bytes(notebook.read_bytes() + b"\n")
        os.replace(temporary, notebook)

    return prepare


def fresh_clone(folder: Path) -> Callable[[], None]:
    """Replace ``folder`` by a new copy of itself at the same path, as a CI job's checkout
    is: the same bytes, with new inodes and modification times. nbprod's cache, keyed by
    content, must still hold for every notebook."""

    def prepare() -> None:
        copy = folder.with_name(folder.name + "-new")
        # copyfile, not copytree's default copy2: a checkout writes files now, it does not
        # carry their old modification times over.
        shutil.copytree(folder, copy, copy_function=shutil.copyfile)
        shutil.rmtree(folder)
        copy.rename(folder)

    return prepare


def tools(work: Path, pynblint: str | None) -> dict[str, Row | None]:
    """The rows, on the copies in ``work``: ``corpus`` for most rows, ``edited`` for the row
    that changes a notebook and ``others`` for nbqa and pynblint, so that neither edits
    nor temporary files make the cached rows relint anything."""
    nbprod_bin, ruff, nbqa = _bin("nbprod"), _bin("ruff"), _bin("nbqa")
    corpus, edited, others = work / "corpus", work / "edited", work / "others"
    ruff_args = ["--isolated", "--exit-zero", "--select", RUFF_SELECT]
    json_out = ["--output-format", "json"]
    lint = [nbprod_bin, "lint", "--exit-zero", *json_out]
    return {
        COLD_RUFF: Row([ruff, "check", *ruff_args, "--no-cache", *json_out, str(corpus)]),
        CACHED_RUFF: Row([ruff, "check", *ruff_args, "--cache-dir", str(work / "ruff-cache"),
                          *json_out, str(corpus)], warm=True),
        COLD_NBPROD: Row([*lint, "--no-cache", str(corpus)]),
        CACHED_NBPROD: Row([*lint, str(corpus)], {"NBPROD_CACHE_DIR": str(work / "cache")},
                           warm=True),
        CHANGED_NBPROD: Row([*lint, str(edited)], {"NBPROD_CACHE_DIR": str(work / "cache-ed")},
                            warm=True, prepare=edit(middle_notebook(edited))),
        CLONED_RUFF: Row([ruff, "check", *ruff_args, "--cache-dir",
                          str(work / "ruff-cache-cl"), *json_out, str(work / "ruff-cloned")],
                         warm=True, prepare=fresh_clone(work / "ruff-cloned")),
        CLONED_NBPROD: Row([*lint, str(work / "cloned")],
                           {"NBPROD_CACHE_DIR": str(work / "cache-cl")}, warm=True,
                           prepare=fresh_clone(work / "cloned")),
        "nbprod lint --no-ruff --no-cache": Row([*lint, "--no-ruff", "--no-cache", str(corpus)]),
        "nbprod start-up (no notebooks)": Row([nbprod_bin, "lint", str(work / "empty"),
                                               "--exit-zero"]),
        "nbqa ruff": Row([nbqa, "ruff", str(others), *ruff_args, "--no-cache"]) if nbqa else None,
        "pynblint": Row([pynblint, str(others), "--quiet", "--yes"]) if pynblint else None,
    }


def run_once(row: Row) -> tuple[float, int, bytes]:
    env = {**os.environ, **row.env}
    start = time.perf_counter()
    proc = subprocess.run(row.command, capture_output=True, stdin=subprocess.DEVNULL,
                          env=env, check=False)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def run_checked(name: str, row: Row) -> tuple[float, str]:
    """Wall time and number of findings of one run; exit 2 when the tool failed."""
    elapsed, code, output = run_once(row)
    if code not in (0, 1):
        tail = output[-2000:].decode(errors="replace")
        print(f"{name} failed (exit {code}):\n{tail}", file=sys.stderr)
        raise SystemExit(2)
    return elapsed, _findings(row, output)


def _findings(row: Row, output: bytes) -> str:
    """The number of findings of a JSON report, "-" for tools without one."""
    if "--output-format" not in row.command:
        return "-"
    try:
        text = output.decode("utf-8", "replace")
        return str(len(json.loads(text[: text.rindex("]") + 1])))
    except ValueError:
        return "?"


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


def prepare_copies(corpus: Path, work: Path) -> None:
    """Copy the folder for the rows (see ``tools``), then wait until nbprod may cache the
    copies: it does not cache a notebook changed (here: created) less than ``RACY_SECONDS``
    before, and the warm-up run would leave the cache empty."""
    for name in ("corpus", "edited", "others", "cloned", "ruff-cloned"):
        shutil.copytree(corpus, work / name)
    (work / "empty").mkdir()
    time.sleep(RACY_SECONDS + 0.1)


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
    compile_nbprod()
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-") as tmp:
        work = Path(tmp)
        # Rows without a cache folder of their own use this one, never the user's.
        os.environ["NBPROD_CACHE_DIR"] = str(work / "cache-other")
        prepare_copies(args.corpus, work)
        rows = tools(work, args.pynblint)
        missing = [name for name, row in rows.items() if not row or not row.command[0]]
        rows = {k: v for k, v in rows.items() if k not in missing}
        times: dict[str, list[float]] = {name: [] for name in rows}
        found: dict[str, set[str]] = {name: set() for name in rows}
        load_before, sources = os.getloadavg()[0], source_stamp()
        for name in [n for n, row in rows.items() if row.warm]:
            found[name].add(run_checked(name, rows[name])[1])
        for rep in range(args.repeat):
            names = list(rows)
            names = names[rep % len(names):] + names[: rep % len(names)]  # rotate the order
            for name in names:
                if rows[name].prepare:
                    rows[name].prepare()
                elapsed, findings = run_checked(name, rows[name])
                times[name].append(elapsed)
                found[name].add(findings)
        load_after = os.getloadavg()[0]
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{len(notebooks)} notebooks, {size / 2**20:.1f} MiB, {args.repeat} repetitions,"
          f" {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")
    print(f"{'tool':34s} {'median s':>9s} {'best s':>8s} {'x ruff':>7s} {'findings':>9s}")
    for name, values in times.items():
        print(f"{name:34s} {median[name]:9.2f} {min(values):8.2f}"
              f" {median[name] / median[COLD_RUFF]:7.2f} {'/'.join(sorted(found[name])):>9s}")
    for name in missing:
        print(f"{name:34s} not installed (see bench/lint/README.md)")
    ratio = median[CACHED_NBPROD] / median[CACHED_RUFF]
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"target nbprod lint (cached) <= {TARGET_RATIO}x ruff check (cached):"
          f" {ratio:.2f}x, {verdict}")
    clone_ratio = median[CLONED_NBPROD] / median[CACHED_RUFF]
    verdict = "met" if clone_ratio <= CLONE_TARGET_RATIO else "NOT met"
    print(f"target nbprod lint (cached, fresh clone) <= {CLONE_TARGET_RATIO}x ruff check"
          f" (cached): {clone_ratio:.2f}x, {verdict}")
    print(f"fresh clone, each tool's cache restored: nbprod lint {median[CLONED_NBPROD]:.2f} s,"
          f" ruff check {median[CLONED_RUFF]:.2f} s:"
          f" {median[CLONED_NBPROD] / median[CLONED_RUFF]:.2f}x (reported)")
    print(f"cold: nbprod lint --no-cache vs ruff check --no-cache:"
          f" {median[COLD_NBPROD] / median[COLD_RUFF]:.2f}x (reported)")
    counts = set().union(*(found[name] for name in SAME_FINDINGS))
    same = len(counts) == 1 and "?" not in counts
    print(f"findings identical with and without the cache: {'yes' if same else 'NO'}")
    if source_stamp() != sources:
        print("warning: nbprod's code changed during the run, so the cached rows relinted"
              " every notebook at least once: run again")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
