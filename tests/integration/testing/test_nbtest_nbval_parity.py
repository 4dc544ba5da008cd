"""``pytest --nbprod-compare`` and ``pytest --nbval`` reach the same verdict on each notebook.

nbval checks a notebook cell by cell against its stored outputs; nbprod's compare mode must
agree wherever the two are meant to agree (everything except nbprod's normalisers, which
accept volatile text such as memory addresses that nbval would reject).
"""

from __future__ import annotations

import nbclient  # noqa: F401  imported once here so in-process pytest runs reuse it
from nbtest_support import error, result, stream, verdicts, write_notebook

UNUSED = ("playwright", "nbmake", "hypothesispytest", "anyio", "asyncio", "cacheprovider")
RUN = (*(arg for name in UNUSED for arg in ("-p", f"no:{name}")), "-n", "2")

# name -> cells, and the verdict both tools must give
CASES = {
    "matching.ipynb": (
        "pass",
        [{"source": "x = 6 * 7\nprint(x)\nx", "outputs": [stream("42\n"), result("42")]}],
    ),
    "different_value.ipynb": (
        "fail",
        [{"source": "print(6 * 7 + 1)", "outputs": [stream("42\n")]}],
    ),
    "raises.ipynb": (
        "fail",
        [{"source": "x = 1", "outputs": []}, {"source": "x.missing", "outputs": []}],
    ),
    "ignore_output.ipynb": (
        "pass",
        [{"source": "# NBVAL_IGNORE_OUTPUT\nprint('today')", "outputs": [stream("yesterday\n")]}],
    ),
    "expected_exception.ipynb": (
        "pass",
        [
            {
                "source": "# NBVAL_RAISES_EXCEPTION\nraise KeyError('k')",
                "outputs": [error("KeyError", "'k'")],
            },
            {"source": "print('goes on')", "outputs": [stream("goes on\n")]},
        ],
    ),
    "skipped.ipynb": (
        "pass",
        [{"source": "# NBVAL_SKIP\nraise SystemExit(3)", "outputs": []}],
    ),
    "reordered_kinds.ipynb": (
        "pass",
        [{"source": "print('a')\n5", "outputs": [result("5"), stream("a\n")]}],
    ),
    "unexpected_output.ipynb": (
        "fail",
        [{"source": "print('new line')", "outputs": []}],
    ),
    "exception_went_away.ipynb": (
        "fail",
        [{"source": "1 + 1", "tags": ["raises-exception"], "outputs": [error("ValueError", "v")]}],
    ),
}


def test_same_verdict_as_nbval_for_each_notebook(pytester, monkeypatch):
    monkeypatch.setenv("NBPROD_CEILING_DIRECTORIES", str(pytester.path))
    pytester.makefile(".toml", pyproject="[tool.nbprod.test]\n")
    for name, (_, cells) in CASES.items():
        write_notebook(pytester.path, name, *cells)
    expected = {name: verdict for name, (verdict, _) in CASES.items()}

    # nbval's cells share a kernel: keep each notebook on one worker.
    pytester.runpytest("--nbval", "--dist", "loadfile", "--junitxml=nbval.xml", *RUN)
    pytester.runpytest("--nbprod-compare", "--junitxml=nbprod.xml", *RUN)
    nbval = verdicts(pytester.path / "nbval.xml")
    nbprod = verdicts(pytester.path / "nbprod.xml")

    assert nbval == expected  # the fixtures mean what they say
    assert nbprod == nbval
