"""Robustness check over a folder of real notebooks: ``tag --suggest --write`` then
``export``, each on a copy in a temporary folder (the corpus itself is never written).

For every notebook: suggest and write tags, export, then import the generated modules in a
fresh interpreter and run ruff on them. A notebook passes when nbprod either exports it or
refuses it with a clean NbprodError; any other exception is a crash. Imports that fail only
because a third-party package is not installed here are counted apart.

    .venv/bin/python bench/export/corpus_check.py [/work/shared/corpus] [--limit N] [--jobs 2]
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

IMPORT_PROBE = """
import importlib, json, sys
results = {}
generated = {name.split(".")[0] for name in sys.argv[1:]}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        results[name] = "ok"
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        results[name] = "error:" + repr(exc) if top in generated else "missing:" + top
    except BaseException as exc:
        results[name] = "error:" + type(exc).__name__ + ": " + str(exc)[:200]
print(json.dumps(results))
"""


def check_one(args: tuple[str, str]) -> dict:
    """Suggest, write tags, export and import one notebook copied under ``work``."""
    source, work = Path(args[0]), Path(args[1])
    from nbprod.errors import NbprodError
    from nbprod.export import ExportConfig, plan_export, write_planned
    from nbprod.export.suggest import apply_suggestions, suggest_tags
    from nbprod.notebook import load, save

    folder = Path(tempfile.mkdtemp(dir=work))
    copy = folder / source.name
    shutil.copyfile(source, copy)
    result: dict = {"notebook": str(source), "files": []}
    warnings.simplefilter("ignore")
    try:
        nb = load(copy)
        suggestions = suggest_tags(nb)
        result["suggested"] = collections.Counter(s.tag.split(":")[0] for s in suggestions)
        if apply_suggestions(nb, suggestions) and not nb.warnings:
            save(nb)
            nb = load(copy)
        statuses = plan_export(nb, ExportConfig(), root=folder)
        write_planned(statuses)
        result["status"] = "exported" if statuses else "nothing-to-export"
        result["files"] = [str(s.path) for s in statuses]
    except NbprodError as exc:
        result["status"] = "clean-error"
        result["error"] = str(exc).split("\n")[0]
        return result
    except Exception:  # the point of the check: anything else is a bug in nbprod
        result["status"] = "crash"
        result["error"] = traceback.format_exc(limit=6)
        return result
    python = [f for f in result["files"] if f.endswith(".py") and not f.startswith("tests/")]
    modules = [f[:-3].replace("/", ".") for f in python]
    if modules:
        probe = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *modules], cwd=folder,
                               capture_output=True, text=True, timeout=120)
        try:
            result["imports"] = json.loads(probe.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            result["imports"] = {m: "error:probe died " + probe.stderr[-200:] for m in modules}
        lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--quiet",
                               *[f for f in result["files"] if f.endswith(".py")]],
                              cwd=folder, capture_output=True, text=True,
                              timeout=120)
        result["ruff_clean"] = lint.returncode == 0
    shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default="/work/shared/corpus")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", dest="json_out", help="Write every result to this file.")
    args = parser.parse_args()
    notebooks = sorted(p for p in Path(args.corpus).rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    if args.limit:
        notebooks = notebooks[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="nbprod-corpus-"))
    try:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(check_one, [(str(p), str(work)) for p in notebooks]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=dict))
    return 1 if any(r["status"] == "crash" for r in results) else 0


def report(results: list[dict]) -> None:
    total = len(results)
    statuses = collections.Counter(r["status"] for r in results)
    imports = collections.Counter()
    missing = collections.Counter()
    for r in results:
        for outcome in r.get("imports", {}).values():
            kind = outcome.split(":")[0]
            imports[kind] += 1
            if kind == "missing":
                missing[outcome.split(":", 1)[1]] += 1
    handled = statuses["exported"] + statuses["nothing-to-export"] + statuses["clean-error"]
    print(f"notebooks: {total}")
    print(f"  exported:          {statuses['exported']}")
    print(f"  nothing to export: {statuses['nothing-to-export']}")
    print(f"  clean error:       {statuses['clean-error']}")
    print(f"  crash:             {statuses['crash']}")
    print(f"no-crash rate: {handled}/{total} = {100 * handled / max(total, 1):.1f}%")
    modules = sum(imports.values())
    print(f"generated modules imported: {imports['ok']}/{modules} ok,"
          f" {imports['missing']} need a package not installed here"
          f" ({', '.join(f'{k} x{v}' for k, v in missing.most_common(6))}),"
          f" {imports['error']} failed")
    ok_or_missing = imports["ok"] + imports["missing"]
    print(f"import success (excluding missing packages): {imports['ok']}/"
          f"{modules - imports['missing']}"
          f" = {100 * imports['ok'] / max(modules - imports['missing'], 1):.1f}%"
          f"; with them counted as failures: {100 * imports['ok'] / max(modules, 1):.1f}%"
          f" ({ok_or_missing} of {modules} import or lack only a package)")
    linted = [r for r in results if "ruff_clean" in r]
    print(f"ruff check --isolated clean: {sum(r['ruff_clean'] for r in linted)}/{len(linted)}"
          " exported notebooks (remaining findings come from the notebooks' own code)")
    reasons = collections.Counter(_reason(r["error"]) for r in results
                                  if r["status"] == "clean-error")
    if reasons:
        print("clean errors by kind:")
        for reason, count in reasons.most_common(8):
            print(f"  {count:4d}  {reason}")
    for r in results:
        if r["status"] == "crash":
            print(f"CRASH {r['notebook']}\n{r['error']}")
    for r in results:
        for module, outcome in r.get("imports", {}).items():
            if outcome.startswith("error"):
                print(f"IMPORT FAILED {r['notebook']} {module}: {outcome[6:][:160]}")


def _reason(message: str) -> str:
    """A short family name for an error message, to group them."""
    for key in ("IPython syntax", "not valid Python", "is defined only in", "no cell above",
                "not defined by any cell", "cannot be serialised", "exists only in a Jupyter",
                "keep each step's cells together", "star import", "reassigns",
                "not valid JSON", "top-level await", "cell magic", "nbformat", "the test uses",
                "used before", "shadow the standard library", "cycle", "hands on"):
        if key in message:
            return key
    return message[:80]


if __name__ == "__main__":
    sys.exit(main())
