"""What a new user gets on a folder of real notebooks: ``nbprod tag --suggest --write`` then
``nbprod export``, each through the real command line, on a copy in a scratch folder (the
corpus itself is never written).

Every notebook counts in the denominator: exported (exit 0 with files), nothing to export
(exit 0 without files), refused (exit 2, with the first line of the message grouped by kind)
or crashed (any other exit, or a traceback). Of the generated Python files (the module and
the step module; the tests import the module): do they compile, are they clean of undefined
names (``ruff --select F821 --ignore-noqa``), how many findings that joining cells causes
(``JOINING_CODES``) the generated exemption line leaves, is every module-level statement an
import, a definition, a constant, an import guard (``try: import a / except ImportError:
import b``) or an ``if __name__ == "__main__":`` block, and do they import in a fresh
interpreter (a third-party package missing here, or whose installed version lacks a
name the notebook imports, is counted apart). From the pipeline
JSON: steps per notebook and the share of steps with no inputs (no argument, no parameter),
also among the steps after each pipeline's first (a first step has no upstream to read).
The generated tests are run with pytest: passed, failed, skipped (a cell the notebook marks
not to run, as nbdev's ``#| eval: false``) and not collected (a package missing here).

With ``--strict`` the export refuses a cell it cannot export instead of leaving it out:
what a CI job running ``nbprod export --strict`` after the suggestions would see.

    .venv/bin/python bench/export/corpus_check.py CORPUS [--limit N] [--jobs 2] [--strict]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"

IMPORT_PROBE = """
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, ".")
import matplotlib
matplotlib.use("Agg")
results = {}
generated = {name.split(".")[0] for name in sys.argv[1:]}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        results[name] = "ok"
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        results[name] = ("error:" + repr(exc)) if top in generated or not top else "missing:" + top
    except ImportError as exc:
        # "cannot import name 'Imputer' from 'sklearn.preprocessing'": the installed version
        # of a third-party package lacks a name the notebook imports.
        top = (exc.name or "").split(".")[0]
        results[name] = ("error:ImportError: " + str(exc)[:200]) if top in generated or not top \
            else "version:" + top
    except BaseException as exc:
        results[name] = "error:" + type(exc).__name__ + ": " + str(exc)[:200]
print(json.dumps(results))
"""

REASONS = (
    "IPython syntax", "cell magic", "not valid Python", "is defined only in", "no cell above",
    "not defined by any cell", "exists only in a Jupyter", "cannot be serialised",
    "keep each step's cells together", "star import", "reassigns", "used before",
    "does not compile", "cycle", "hands on", "top-level await", "shadow the standard library",
    "more than one parameters cell", "same function name", "not valid JSON", "nbformat",
)


def nbprod(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real command line, with this checkout's nbprod first on the path."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run([sys.executable, "-m", "nbprod", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


#: Findings that joining cells into a file causes, which the generated file-wide exemption
#: must cover (the rest of ruff's findings are the notebook code's own).
JOINING_CODES = "E402,F401,F811,F841,B018,RUF059"


def check_one(source: Path, work: Path, strict: bool = False) -> dict:
    """Suggest, write tags, export, then inspect what was generated, for one notebook."""
    folder = Path(tempfile.mkdtemp(dir=work))
    copy = folder / source.name
    shutil.copyfile(source, copy)
    result: dict = {"notebook": str(source), "files": []}
    try:
        tag = nbprod("tag", "--suggest", "--write", copy.name, cwd=folder)
        result["tag_exit"] = tag.returncode
        export = nbprod("export", copy.name, *(["--strict"] if strict else []), cwd=folder)
        result["exit"] = export.returncode
        result["stderr"] = export.stderr[-2000:]
        crashed = "Traceback (most recent call last)" in tag.stderr + export.stderr
        if crashed or tag.returncode not in (0, 2) or export.returncode not in (0, 2):
            result["status"] = "crash"
            result["error"] = (tag.stderr + export.stderr)[-1500:]
            return result
        if tag.returncode == 2:
            result["status"] = "refused"
            result["error"] = _error_line(tag.stderr)
            return result
        if export.returncode == 2:
            result["status"] = "refused"
            result["error"] = _error_line(export.stderr)
            return result
        files = [line.split(None, 1)[1] for line in export.stdout.splitlines()
                 if len(line.split(None, 1)) == 2]
        result["files"] = files
        result["status"] = "exported" if files else "nothing-to-export"
        _inspect(folder, files, result)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _inspect(folder: Path, files: list[str], result: dict) -> None:
    python = [f for f in files if f.endswith(".py") and not f.startswith("tests/")]
    result["modules"] = {}
    for name in python:
        text = (folder / name).read_text(encoding="utf-8")
        facts: dict = {}
        try:
            tree = ast.parse(text)
            compile(text, name, "exec", dont_inherit=True)
            facts["compiles"] = True
            facts["module_level"] = _module_level_problems(tree)
        except SyntaxError as exc:
            facts["compiles"] = False
            facts["compile_error"] = f"line {exc.lineno}: {exc.msg}"
        result["modules"][name] = facts
    if python:
        lint = subprocess.run([RUFF, "check", "--isolated", "--ignore-noqa", "--select", "F821",
                               "--output-format", "json", *python], cwd=folder,
                              capture_output=True, text=True, timeout=120)
        findings = json.loads(lint.stdout or "[]")
        for name in python:
            result["modules"][name]["f821"] = [
                f["message"] for f in findings if Path(f["filename"]).name == Path(name).name]
        joined = subprocess.run([RUFF, "check", "--isolated", "--select", JOINING_CODES,
                                 "--output-format", "json", *python], cwd=folder,
                                capture_output=True, text=True, timeout=120)
        left = json.loads(joined.stdout or "[]")
        for name in python:
            result["modules"][name]["joining"] = [
                f"{f['code']} {f['message']}" for f in left
                if Path(f["filename"]).name == Path(name).name]
        modules = [f[:-3].replace("/", ".") for f in python]
        probe = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *modules], cwd=folder,
                               capture_output=True, text=True, timeout=300)
        try:
            outcomes = json.loads(probe.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            outcomes = {m: "error:probe died " + probe.stderr[-200:] for m in modules}
        for name, module in zip(python, modules, strict=True):
            result["modules"][name]["import"] = outcomes.get(module, "error:no answer")
    tests = [f for f in files if f.startswith("tests/") and f.endswith(".py")]
    if tests:
        result["tests"] = _run_tests(folder, tests)
    for name in files:
        if name.endswith("_pipeline.json"):
            pipeline = json.loads((folder / name).read_text(encoding="utf-8"))
            steps = pipeline.get("steps", [])
            result["steps"] = len(steps)
            empty = [not s.get("args") and not s.get("parameters") for s in steps]
            result["steps_without_inputs"] = sum(empty)
            result["later_steps_without_inputs"] = sum(empty[1:])  # steps are in run order


def _run_tests(folder: Path, tests: list[str]) -> dict:
    """pytest on the generated test files: how many passed, failed, were skipped or could
    not be collected (a package missing here), from pytest's summary line."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:nbprod", *tests], cwd=folder, capture_output=True,
                          text=True, timeout=600)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {kind: int(n) for n, kind in re.findall(
        r"(\d+) (passed|failed|skipped|errors?)", summary)}
    counts["error"] = counts.pop("errors", 0) + counts.pop("error", 0)
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    return {**counts, "failed_lines": failed[:3]}


def _module_level_problems(tree: ast.Module) -> list[str]:
    """Module-level statements other than imports, definitions, constants and a main guard."""
    problems = []
    for position, stmt in enumerate(tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, str) and position == 0:
            continue  # the docstring
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            continue  # constants (and module-level values of export cells)
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            continue
        if isinstance(stmt, ast.Try) and _imports_only(stmt):
            continue  # an import guard: try: import a / except ImportError: import b
        problems.append(f"line {stmt.lineno}: {type(stmt).__name__}")
    return problems


def _imports_only(stmt: ast.Try) -> bool:
    blocks = [stmt.body, stmt.orelse, stmt.finalbody, *[h.body for h in stmt.handlers]]
    return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Pass)) for b in blocks for s in b)


def _error_line(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return stderr.strip().splitlines()[-1] if stderr.strip() else "(no message)"


def _reason(message: str) -> str:
    for key in REASONS:
        if key in message:
            return key
    return message[:80]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="Folder of notebooks (searched recursively).")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", dest="json_out", help="Write every result to this file.")
    parser.add_argument("--strict", action="store_true",
                        help="Export with --strict: a cell that cannot be exported refuses.")
    args = parser.parse_args()
    notebooks = sorted(p for p in Path(args.corpus).rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    if args.limit:
        notebooks = notebooks[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="nbprod-corpus-"))
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(lambda p: check_one(p, work, args.strict), notebooks))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 1 if any(r["status"] == "crash" for r in results) else 0


def report(results: list[dict]) -> None:
    total = len(results)
    statuses = collections.Counter(r["status"] for r in results)
    ok = statuses["exported"] + statuses["nothing-to-export"]
    print(f"notebooks: {total}")
    print(f"  exported:          {statuses['exported']}")
    print(f"  nothing to export: {statuses['nothing-to-export']}")
    print(f"  refused:           {statuses['refused']}")
    print(f"  crashed:           {statuses['crash']}")
    print(f"suggest -> export exit 0: {ok}/{total} = {100 * ok / max(total, 1):.1f}%")
    modules = [(r, name, facts) for r in results for name, facts in r.get("modules", {}).items()]
    compiled = sum(f["compiles"] for _r, _n, f in modules)
    f821 = [(r, n, f) for r, n, f in modules if f.get("f821")]
    level = [(r, n, f) for r, n, f in modules if f.get("module_level")]
    outcomes = collections.Counter(f.get("import", "error").split(":")[0] for _r, _n, f in modules)
    missing = collections.Counter(f["import"].split(":", 1)[1] for _r, _n, f in modules
                                  if f.get("import", "").startswith("missing:"))
    print(f"generated modules: {len(modules)}")
    print(f"  compile:                    {compiled}/{len(modules)}")
    print(f"  F821 clean:                 {len(modules) - len(f821)}/{len(modules)}")
    joining = sum(len(f.get("joining", [])) for _r, _n, f in modules)
    print(f"  {JOINING_CODES} findings (noqa honoured): {joining}")
    print(f"  only imports/defs/constants/main guard at module level:"
          f" {len(modules) - len(level)}/{len(modules)}")
    testable = outcomes["ok"] + outcomes["error"]
    print(f"  import (packages installed): {outcomes['ok']}/{testable}"
          f" = {100 * outcomes['ok'] / max(testable, 1):.1f}%")
    print(f"  package not installed:      {outcomes['missing']}"
          f" ({', '.join(f'{k} x{v}' for k, v in missing.most_common(8))})")
    print(f"  installed version lacks a name the notebook imports: {outcomes['version']}")
    steps = [r["steps"] for r in results if "steps" in r]
    empty = sum(r.get("steps_without_inputs", 0) for r in results)
    if steps:
        later = sum(r.get("later_steps_without_inputs", 0) for r in results)
        print(f"pipelines: {len(steps)}; steps per notebook: median {statistics.median(steps)},"
              f" max {max(steps)}; steps with no inputs: {empty}/{sum(steps)}"
              f" = {100 * empty / max(sum(steps), 1):.1f}%; of the steps after each"
              f" pipeline's first: {later}/{sum(steps) - len(steps)}"
              f" = {100 * later / max(sum(steps) - len(steps), 1):.1f}%")
    tested = [r["tests"] for r in results if "tests" in r]
    if tested:
        totals = {k: sum(t.get(k, 0) for t in tested)
                  for k in ("passed", "failed", "skipped", "error")}
        print(f"generated tests ({len(tested)} notebooks with test cells): {totals['passed']}"
              f" passed, {totals['failed']} failed, {totals['skipped']} skipped,"
              f" {totals['error']} not collected (a package missing here)")
    reasons = collections.Counter(_reason(r["error"]) for r in results
                                  if r["status"] == "refused")
    if reasons:
        print("refusals by kind:")
        for reason, count in reasons.most_common():
            print(f"  {count:4d}  {reason}")
    for r in results:
        for line in r.get("tests", {}).get("failed_lines", []):
            print(f"TEST {r['notebook']}: {line}")
        if r["status"] == "crash":
            print(f"CRASH {r['notebook']}\n{r['error']}")
    for r, name, facts in modules:
        if not facts["compiles"]:
            print(f"DOES NOT COMPILE {r['notebook']} {name}: {facts['compile_error']}")
        for message in facts.get("f821", [])[:3]:
            print(f"F821 {r['notebook']} {name}: {message}")
        for problem in facts.get("module_level", [])[:2]:
            print(f"MODULE-LEVEL {r['notebook']} {name}: {problem}")
        if facts.get("import", "").startswith("error"):
            print(f"IMPORT FAILED {r['notebook']} {name}: {facts['import'][6:][:160]}")
        if facts.get("import", "").startswith("version"):
            print(f"OLDER API {r['notebook']} {name}: the installed {facts['import'][8:]}"
                  " lacks a name the notebook imports")


if __name__ == "__main__":
    sys.exit(main())
