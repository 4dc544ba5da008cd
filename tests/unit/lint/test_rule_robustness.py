"""Every rule (and every fix) survives odd notebooks, and real ones when a corpus is present."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.errors import NotebookError
from nbprod.lint.checker import LintConfig, lint
from nbprod.notebook import Notebook, load, loads

CORPUS = Path(os.environ.get("NBPROD_CORPUS", "/work/shared/corpus"))
ALL_RULES = LintConfig(select=("NB",), require_parameters=True)
WITH_FIXES = LintConfig(select=("NB",), require_parameters=True, fix=True, unsafe_fixes=True)

ODD_NOTEBOOKS = {
    "empty": [],
    "markdown-only": [{"cell_type": "markdown", "source": "no title here"}],
    "raw-only": [{"cell_type": "raw", "source": "%%bash\nAKIA"}],
    "syntax-error": ["def f(:\n    return", {"source": "x = (", "tags": ["parameters"]}],
    "syntax-error-export": [{"source": "def g(:", "tags": ["export"]}, "g()"],
    "opaque-cell-magic": [
        {"source": "%%bash\nls /home/ana\npip install x", "tags": ["export", "parameters"]},
        "%%html\n<b>password = 'x'</b>",
    ],
    "only-ipython": ["%matplotlib inline\n!ls\nx = !pwd\npip install foo\nobj?\n%cd ..", "x"],
    "deep-nesting": ["x = " + "(" * 300 + "1" + ")" * 300, "y = [" * 200 + "]" * 200],
    "unicode": ["é = 'ü'\nprint(é)  # ☃", "données = pd.read_csv('données/ü.csv')"],
    "crlf": ["a = 1\r\nb = a\r\n", "import random\r\nrandom.random()"],
    "odd-counts": [
        {"source": "a = 1", "execution_count": 0},
        {"source": "b = a", "execution_count": 10**9},
        {"source": "", "execution_count": 3},
    ],
    "scopes": [
        "global g\ng = 1\ndef f():\n    global h\n    h = g\n    def inner():\n"
        "        nonlocal_ = 1\n    return [i for i in range(3) if (j := i)]\n"
        "class C:\n    x = 1\n    y = [x for _ in range(2)]\nasync def a():\n"
        "    async with b as c:\n        pass\nmatch g:\n    case {'k': v, **rest}:\n"
        "        pass\n    case [1, *others]:\n        pass\ndel g\nfrom os import *",
        {"source": "lr = f()\nlr += 1", "tags": ["parameters"]},
    ],
    "outputs": [
        {
            "source": "show()",
            "execution_count": 1,
            "outputs": [
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": "iVBORw0KGgo=", "application/json": {"a": [1, None]},
                          "application/vnd.custom+json": {"k": "v"}, "text/plain": ""}},
                {"output_type": "stream", "name": "stderr", "text": ""},
                {"output_type": "error", "ename": "", "evalue": "", "traceback": []},
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/plain": ["a", "b"]}},
            ],
        }
    ],
    "ml-odd": [
        "m.fit()\nm.score()\ntrain_test_split()\nStandardScaler().fit_transform()\n"
        "x.append(ignore_index=True)\nnp.random.default_rng(*args)\n"
        "f(**{'random_state': 1})\n(lambda: 1).fit(X)\nplt.style.use(style)\n"
        "df.groupby(axis=1)",
    ],
}


def _odd(name: str, minor: int = 5) -> Notebook:
    node = make_notebook(*ODD_NOTEBOOKS[name], minor=minor)
    return loads(nbformat.writes(node), path=f"/project/{name}.ipynb")


def _check_locations(nb: Notebook, diagnostics) -> None:
    cells = nb.cells
    for diagnostic in diagnostics:
        if diagnostic.cell is None:
            continue
        cell = cells[diagnostic.cell - 1]
        assert diagnostic.cell_id == cell.id, diagnostic
        assert diagnostic.line >= 1 and diagnostic.column >= 1, diagnostic
        if diagnostic.output is None and diagnostic.code < "NB400":
            assert diagnostic.line <= max(1, len(cell.source.split("\n"))), diagnostic


@pytest.mark.parametrize("name", sorted(ODD_NOTEBOOKS))
@pytest.mark.parametrize("minor", [0, 5])
def test_rules_and_fixes_survive_odd_notebooks(name, minor):
    nb = _odd(name, minor)
    result = lint(nb, ALL_RULES)
    _check_locations(nb, result.diagnostics)
    fixed = lint(nb, WITH_FIXES)
    assert fixed.fixed_notebook is None or fixed.fixed_notebook is not nb


def test_notebook_without_a_path_is_linted():
    nb = loads(nbformat.writes(make_notebook("open('data.csv')", "import xgboost")))
    assert lint(nb, ALL_RULES).diagnostics is not None


def _corpus_shards() -> list[str]:
    if not CORPUS.is_dir():
        return ["absent"]
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) or ["."]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no notebook corpus at {CORPUS}")
@pytest.mark.parametrize("shard", _corpus_shards())
def test_rules_survive_the_corpus(shard):
    notebooks = sorted((CORPUS / shard).rglob("*.ipynb"))
    assert notebooks
    linted = 0
    for path in notebooks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                nb = load(path)
            except NotebookError:
                continue
        result = lint(nb, ALL_RULES, project_root=CORPUS)
        _check_locations(nb, result.diagnostics)
        linted += 1
    assert linted >= len(notebooks) * 0.9


def test_huge_execution_counts_cost_no_memory():
    # A saved execution count is any non-negative integer; rules must not enumerate up to it.
    node = make_notebook({"source": "print(undefined_name)", "execution_count": 2**62})
    nb = loads(nbformat.writes(node), path="huge.ipynb")
    codes = {d.code for d in lint(nb, LintConfig()).diagnostics}
    assert "NB005" in codes
