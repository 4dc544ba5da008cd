"""Benchmark of ``nbprod export``: a 1,000-cell notebook, and a no-change re-export of 100
notebooks compared with only loading them.

Peers measured in the same run: nbconvert's PythonExporter (whole notebook to a script) and,
when installed, nbdev's ``nb_export`` (export cells to a module). Timings are medians of
``--repeat`` runs; the machine may be shared, so read the ratios rather than the seconds.

    .venv/bin/python bench/export/bench_export.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat

from nbprod.export import ExportConfig, export, plan_export, plan_writes, write_planned
from nbprod.notebook import load


def _cells_for(block: int) -> list:
    """Four cells per block: exported helpers, a step, another step, a test."""
    return [
        nbformat.v4.new_code_cell(
            f"import math\n\n\ndef helper_{block}(x):\n    \"\"\"Block {block}.\"\"\"\n"
            f"    return math.sqrt(x) + {block}\n\n\nCONSTANT_{block} = {block}",
            metadata={"tags": ["export"]}),
        nbformat.v4.new_code_cell(
            f"values_{block} = [helper_{block}(i) for i in range(scale)]",
            metadata={"tags": [f"step:make-{block}"]}),
        nbformat.v4.new_code_cell(
            f"total_{block} = sum(values_{block}) + CONSTANT_{block}",
            metadata={"tags": [f"step:sum-{block}"]}),
        nbformat.v4.new_code_cell(
            f"assert helper_{block}(0) == {block}", metadata={"tags": ["test"]}),
    ]


def make_notebook(path: Path, cells: int) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}}
    nb.cells.append(nbformat.v4.new_code_cell("scale = 10", metadata={"tags": ["parameters"]}))
    block = 0
    while len(nb.cells) < cells:
        nb.cells.extend(_cells_for(block))
        block += 1
    nb.cells = nb.cells[:cells]
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def timed(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def nbprod_export(path: Path, root: Path) -> None:
    """What ``nbprod export`` does per notebook: load, plan (fast when unchanged), write."""
    write_planned(plan_export(load(path), ExportConfig(), root=root))


def nbconvert_script(path: Path) -> None:
    from nbconvert import PythonExporter

    PythonExporter().from_filename(str(path))


def nbdev_export(path: Path, out: Path):
    try:
        from nbdev.export import nb_export
    except ImportError:
        return None
    return lambda: nb_export(str(path), lib_path=str(out))


def large_notebook(work: Path, repeat: int) -> None:
    root = work / "large"
    root.mkdir()
    path = root / "big.ipynb"
    make_notebook(path, 1000)
    nbdev_path = root / "big_nbdev.ipynb"
    _nbdev_copy(path, nbdev_path)
    print("1. Export of a 1,000-cell notebook (module + tests + 500-step pipeline)")
    first = timed(lambda: nbprod_export(path, root), 1)
    again = timed(lambda: nbprod_export(path, root), repeat)
    regenerate = timed(lambda: plan_writes(export(load(path), ExportConfig(), root=root), root),
                       repeat)
    load_only = timed(lambda: load(path), repeat)
    script = timed(lambda: nbconvert_script(path), repeat)
    print(f"   nbprod export, first (writes 4 files)  {first * 1000:9.1f} ms")
    print(f"   nbprod export, again (unchanged)       {again * 1000:9.1f} ms")
    print(f"   nbprod regenerate + compare (no reuse) {regenerate * 1000:9.1f} ms")
    print(f"   nbprod load only                       {load_only * 1000:9.1f} ms")
    print(f"   nbconvert --to script (peer)           {script * 1000:9.1f} ms"
          f"   nbprod/nbconvert = {first / script:.2f}x")
    peer = nbdev_export(nbdev_path, root / "nbdev_out")
    if peer is None:
        print("   nbdev nb_export (peer)                 not installed (pip install nbdev)")
    else:
        nbdev = timed(peer, repeat)
        print(f"   nbdev nb_export, module only (peer)    {nbdev * 1000:9.1f} ms"
              f"   nbprod/nbdev = {first / nbdev:.2f}x")


def _nbdev_copy(source: Path, target: Path) -> None:
    """The same notebook written the nbdev way (#| directives instead of tags)."""
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("#| default_exp big"))
    for cell in nb.cells:
        if "export" in cell.metadata.get("tags", []):
            cell.source = "#| export\n" + cell.source
        cell.metadata.pop("tags", None)
    target.write_text(nbformat.writes(nb), encoding="utf-8")


def many_notebooks(work: Path, repeat: int) -> None:
    root = work / "many"
    root.mkdir()
    paths = []
    for index in range(100):
        path = root / f"nb_{index:03d}.ipynb"
        make_notebook(path, 40)
        paths.append(path)
    for path in paths:
        nbprod_export(path, root)

    def load_all():
        for path in paths:
            load(path)

    generated = [p for p in root.rglob("*") if p.suffix in (".py", ".json")]

    def read_all():
        load_all()
        for path in generated:
            path.read_bytes()

    def reexport_all():
        statuses = []
        for path in paths:
            statuses.extend(plan_export(load(path), ExportConfig(), root=root))
        assert all(s.status == "unchanged" for s in statuses), "expected no change"

    def regenerate_all():
        for path in paths:
            statuses = plan_writes(export(load(path), ExportConfig(), root=root), root)
            assert all(s.status == "unchanged" for s in statuses), "expected no change"

    print("2. No-change re-export of 100 notebooks (40 cells each, 4 files each)")
    loading = timed(load_all, repeat)
    reexport = timed(reexport_all, repeat)
    regenerate = timed(regenerate_all, repeat)
    reading = timed(read_all, repeat)
    print(f"   load the 100 notebooks only            {loading * 1000:9.1f} ms")
    print(f"   load them + read the {len(generated)} generated files {reading * 1000:7.1f} ms"
          f"   = {reading / loading:.2f}x loading")
    print(f"   nbprod re-export (as the CLI does)     {reexport * 1000:9.1f} ms"
          f"   = {reexport / loading:.2f}x loading")
    print(f"   regenerate everything and compare      {regenerate * 1000:9.1f} ms"
          f"   = {regenerate / loading:.2f}x loading (what the fingerprint saves)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    work = Path(tempfile.mkdtemp(prefix="nbprod-bench-export-"))
    try:
        print(f"python {sys.version.split()[0]}, median of {args.repeat} runs\n")
        large_notebook(work, args.repeat)
        print()
        many_notebooks(work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
