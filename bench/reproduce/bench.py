"""Benchmark building the isolated environment of a run: uv (cold, cached) vs venv + pip.

One run of the example project (``examples/notebooks/train.ipynb``) is made, then its lock is
built once (``nbprod.env.compile_lock``) and installed four ways, all in this one process run,
each into a fresh folder:

* ``uv cold``: ``nbprod.env.ensure_environment`` with empty caches (uv downloads every wheel),
  as the first ``nbprod reproduce --isolated`` of a run on a new machine;
* ``uv rebuild``: the environment deleted, uv's download cache kept (another lock of the same
  packages, or a deleted environment);
* ``uv cached``: ``ensure_environment`` again: the environment is reused, as every later
  ``reproduce --isolated`` of the run does;
* ``pip``: ``python -m venv`` + ``pip install -r requirements.txt`` of the same lock (hash
  checked), with an empty pip cache; ``pip warm`` once more with that cache filled.

pip cannot take the editable line of the project together with hashes, so it gets it in a
second command (``pip install --no-deps -e FOLDER``), counted in its time. Both build nbprod
with ``SKIP_JUPYTER_BUILDER=1`` (the checkout's JupyterLab bundle is not rebuilt). Prints the
seconds and the ratios to pip's cold time (target: uv cached <= 10% of pip).

    .venv/bin/python bench/reproduce/bench.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def example_run(work: Path, env: dict) -> dict:
    project = work / "example"
    project.mkdir()
    shutil.copy(REPO / "examples" / "pyproject.toml", project)
    for name in ("data", "notebooks"):
        shutil.copytree(REPO / "examples" / name, project / name)
    done = subprocess.run([sys.executable, "-m", "nbprod", "run", "notebooks/train.ipynb", "-q",
                           "--output-format", "json"], cwd=project, env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def pip_install(work: Path, name: str, lock_text: str, pip_cache: Path) -> float:
    """venv + pip install of the lock; the editable lines in a second pip command."""
    target = work / name
    lines = lock_text.splitlines()
    editable = [line[3:].strip() for line in lines if line.startswith("-e ")]
    pinned = work / f"{name}-requirements.txt"
    pinned.write_text("\n".join(line for line in lines if not line.startswith("-e ")) + "\n")
    env = {**os.environ, "PIP_CACHE_DIR": str(pip_cache), "SKIP_JUPYTER_BUILDER": "1"}
    pip = [str(target / "bin" / "python"), "-m", "pip", "--isolated", "-q",
           "--disable-pip-version-check"]

    def install():
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        subprocess.run([*pip, "install", "--require-hashes", "-r", str(pinned)], env=env,
                       check=True)
        for folder in editable:
            subprocess.run([*pip, "install", "--no-deps", "-e", folder], env=env, check=True)

    return timed(install)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="nbprod-bench-reproduce-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "nbprod-cache"
    # Before nbprod reads them: every cache of this benchmark is its own, and empty.
    os.environ.update(NBPROD_CACHE_DIR=str(cache), UV_CACHE_DIR=str(cache / "uv"),
                      JUPYTER_DATA_DIR=str(work / "jupyter"), SKIP_JUPYTER_BUILDER="1")
    from nbprod.env import Sources, compile_lock, ensure_environment, plan_for

    receipt = example_run(work, dict(os.environ))
    plan = plan_for(receipt)
    sources = Sources()
    lock_s = timed(lambda: compile_lock(plan, sources, cache))
    lock = compile_lock(plan, sources, cache)
    # The lock resolved against the index but downloaded no wheel: uv's cache holds metadata.
    rows = {}
    rows["uv cold"] = timed(lambda: ensure_environment(lock, sources, cache))
    env = ensure_environment(lock, sources, cache)
    shutil.rmtree(env.folder)
    rows["uv rebuild"] = timed(lambda: ensure_environment(lock, sources, cache))
    rows["uv cached"] = min(timed(lambda: ensure_environment(lock, sources, cache))
                            for _ in range(5))
    rows["pip"] = pip_install(work, "pip-cold", lock.requirements_txt, work / "pip-cache")
    rows["pip warm"] = pip_install(work, "pip-warm", lock.requirements_txt, work / "pip-cache")

    print(f"example run {receipt['run_id']}: {len(plan.requirements)} distributions locked"
          f" in {lock_s:.2f} s (Python {plan.python})")
    print(f"{'install':<12}{'seconds':>10}{'/ pip':>10}")
    for name, seconds in rows.items():
        print(f"{name:<12}{seconds:>10.4f}{seconds / rows['pip']:>10.3f}")
    ratio = rows["uv cached"] / rows["pip"]
    verdict = "met" if ratio <= 0.10 else "NOT met"
    print(f"uv cached / pip = {ratio:.4f} (target <= 0.10: {verdict})")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
