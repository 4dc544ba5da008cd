"""Every command against every malformed input: how many are refused cleanly.

A clean refusal is exit 2 with exactly one ``error:`` line naming the file, no traceback,
within the time limit, and nothing written into the folder. The inputs are the project's
malformed corpus (``tests/malformed_corpus.py``: bad JSON, bad nbformat, bad encodings, lone
surrogates...) and its special paths (a FIFO, a symlink to /dev/zero, a symlink loop, a
broken link, a folder named ``.ipynb``); the commands those of the reading paths. Each
invocation is a real ``python -m nbprod`` process, so a hang is a timeout, not a stuck run.

    .venv/bin/python bench/malformed/bench.py [--timeout 20] [--jobs 2]

Set ``PYTHONPATH`` to measure another checkout of nbprod.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from malformed_corpus import (  # noqa: E402
    MALFORMED,
    SPECIAL,
    build_malformed,
    build_special,
    tree_digest,
)

COMMANDS = {
    "lint": ("lint",),
    "lint --fix": ("lint", "--fix"),
    "params": ("params",),
    "tag --suggest": ("tag", "--suggest"),
    "export --dry-run": ("export", "--dry-run"),
    "run": ("run",),
}


def attempt(folder: Path, name: str, command: tuple[str, ...], timeout: float) -> str:
    """'clean', or what went wrong."""
    path = folder / "corpus" / name
    watched = name not in ("dev-zero.ipynb", "fifo.ipynb")
    before = tree_digest(folder / "corpus") if watched else None
    try:
        proc = subprocess.run([sys.executable, "-m", "nbprod", *command, str(path)],
                              capture_output=True, text=True, timeout=timeout, cwd=folder,
                              env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(folder)})
    except subprocess.TimeoutExpired:
        return "hang"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    if "Traceback" in proc.stderr:
        return "traceback"
    if proc.returncode != 2:
        return f"exit {proc.returncode}"
    if len(errors) != 1 or name not in errors[0]:
        return "not one error line naming the file"
    if (folder / ".nbprod").exists() or (watched and tree_digest(folder / "corpus") != before):
        return "wrote files"
    return "clean"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    cases = [(name, label) for name in [*MALFORMED, *SPECIAL] for label in COMMANDS]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        def one(case):
            name, label = case
            folder = Path(scratch) / f"{len(name)}-{abs(hash(case))}"
            folder.mkdir()
            build_malformed(folder / "corpus")
            build_special(folder / "corpus")
            return name, label, attempt(folder, name, COMMANDS[label], args.timeout)

        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(one, cases))
    failures = [o for o in outcomes if o[2] != "clean"]
    for name, label, what in failures:
        print(f"  {label:18} {name:32} {what}")
    print(f"{len(outcomes) - len(failures)} of {len(outcomes)} invocations refused cleanly"
          f" ({len(MALFORMED)} malformed files + {len(SPECIAL)} special paths x"
          f" {len(COMMANDS)} commands) in {time.perf_counter() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
