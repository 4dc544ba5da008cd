"""Fuzzing the reader and the linter: whatever the input, only nbprod's own errors escape.

Two kinds of input: structure-aware mutations of a valid notebook (a value anywhere in the
tree replaced, deleted, retyped, or a key added) and arbitrary JSON or bytes. Together the
tests run for about a minute; they share one xdist group so they run beside the rest.
"""

from __future__ import annotations

import copy
import json
import os
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbprod.errors import NbprodError, NbprodWarning
from nbprod.lint import LintConfig, lint
from nbprod.lint.file_lines import FileLines
from nbprod.notebook import loads

pytestmark = pytest.mark.xdist_group("fuzz")

# The long profile (NBPROD_FUZZ=long, for a scheduled job) is sized for 60-70 s of CPU in total
# (about 15 ms per mutated notebook, which is loaded and linted twice; generic JSON and bytes
# are mostly refused early); every test run gets a fifth of it.
SCALE = 1.0 if os.environ.get("NBPROD_FUZZ") == "long" else 0.2
EXAMPLES_MUTATED = int(3500 * SCALE)
EXAMPLES_JSON = int(2500 * SCALE)
EXAMPLES_BYTES = int(2500 * SCALE)
FUZZ = settings(
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

SOURCES = [
    "import numpy as np\nnp.random.rand(3)",
    "df = pd.read_csv('/home/me/data.csv')\ndf.ix[0]",
    "%pip install pandas\n!ls -la\nfiles = !ls\n%cd /tmp",
    "%%bash\necho hi",
    "def f(x):\n    return x + y\n",
    "for i in range(3):\n  print(i",
    "x: int = 1\nlr = 0.1  # learning rate",
    "from sklearn.preprocessing import StandardScaler\nStandardScaler().fit(X)",
    "password = 'hunter2'\nurl = 'https://user:pw@host/x'",
    "import os\nos.chdir('..')\ninput('name?')",
    "",
    "   \n\n",
    "# nbprod: ignore[NB001]\nundefined_name",
    "#| export\ndef g():\n    return h()",
    "lambda: (yield)",
    "del x\nglobal y\nx += 1",
    "[a for a in b if (c := a)]",
    "obj?\n??obj",
]
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(SOURCES),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
TAGS = st.lists(st.sampled_from(["parameters", "export", "test", "skip", "step:a", "x"]),
                max_size=3, unique=True)


@st.composite
def valid_notebooks(draw) -> dict:
    """A valid nbformat 4 notebook with code, markdown and raw cells, outputs and tags."""
    cells = []
    for index in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["code", "code", "code", "markdown", "raw"]))
        cell = {"cell_type": kind, "id": f"c{index}", "metadata": {},
                "source": draw(st.sampled_from(SOURCES))}
        tags = draw(TAGS)
        if tags:
            cell["metadata"]["tags"] = tags
        if kind == "code":
            cell["execution_count"] = draw(st.none() | st.integers(0, 20))
            cell["outputs"] = draw(st.lists(st.sampled_from([
                {"output_type": "stream", "name": "stdout", "text": "AKIAIOSFODNN7EXAMPLE\n"},
                {"output_type": "error", "ename": "NameError", "evalue": "x", "traceback": []},
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}},
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/plain": "x" * 50}},
            ]), max_size=3))
        cells.append(cell)
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return {"cells": cells, "metadata": {"kernelspec": kernel},
            "nbformat": 4, "nbformat_minor": draw(st.sampled_from([0, 4, 5]))}


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated_notebooks(draw) -> dict:
    """A valid notebook with 1-3 mutations at random places in its tree."""
    nb = draw(valid_notebooks())
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(nb))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add", "retype"]))
        if not path:
            nb = draw(JSON) if action == "replace" else nb
            if not isinstance(nb, dict):
                return nb
            continue
        parent = nb
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if action == "replace":
            parent[last] = draw(JSON)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(["id", "source", "outputs", "x", "cells"]))] = draw(
                JSON)
        else:
            value = parent[last]
            parent[last] = (
                [value] if not isinstance(value, list) else json.dumps(value)
            )
    return nb


def _check(text: str | bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbprodWarning)
        try:
            nb = loads(text, path="fuzz.ipynb")
        except NbprodError:
            return
        original = copy.deepcopy(nb.node)
        try:
            lint(nb, LintConfig(require_parameters=True))
            lint(nb, LintConfig(fix=True, unsafe_fixes=True))
        except NbprodError:
            pass
        assert nb.node == original  # lint never edits the notebook it was given


@settings(FUZZ, max_examples=EXAMPLES_MUTATED)
@given(mutated_notebooks())
def test_mutated_notebooks(nb):
    _check(json.dumps(nb))


@settings(FUZZ, max_examples=EXAMPLES_JSON)
@given(JSON)
def test_arbitrary_json(data):
    _check(json.dumps(data))


@settings(FUZZ, max_examples=EXAMPLES_BYTES)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes(data):
    _check(data)


@settings(FUZZ, max_examples=EXAMPLES_MUTATED // 10)
@given(valid_notebooks())
def test_valid_notebooks_always_load_and_lint(nb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbprodWarning)
        loaded = loads(json.dumps(nb), path="fuzz.ipynb")
    result = lint(loaded, LintConfig())
    assert all(d.path == "fuzz.ipynb" for d in result.diagnostics)


@settings(FUZZ, max_examples=EXAMPLES_MUTATED // 5)
@given(mutated_notebooks() | JSON, st.sampled_from([None, 0, 1, 3]))
def test_placing_findings_in_any_json_file_never_raises(data, indent):
    places = FileLines(json.dumps(data, indent=indent))
    for cell in range(len(places.cells) + 2):
        places.place(cell, None, 1, 3)
        places.place(cell, 1, 1, 1)


@settings(FUZZ, max_examples=EXAMPLES_MUTATED // 10)
@given(valid_notebooks(), st.sampled_from([None, 0, 1, 2]), st.booleans(), st.data())
def test_every_source_line_is_placed_in_any_layout(nb, indent, ascii_only, data):
    for cell in nb["cells"]:
        if data.draw(st.booleans()):  # as Jupyter writes it: a list of lines
            cell["source"] = cell["source"].splitlines(keepends=True)
    text = json.dumps(nb, indent=indent, ensure_ascii=ascii_only)
    file_lines = text.split("\n")
    places = FileLines(text)
    for number, cell in enumerate(nb["cells"], start=1):
        for line_number, line in enumerate("".join(cell["source"]).split("\n"), start=1):
            if not line:
                continue
            column = data.draw(st.integers(1, len(line)))
            at_line, at_column = places.place(number, None, line_number, column)
            rest = json.dumps(line[column - 1:], ensure_ascii=ascii_only)[1:-1]
            assert file_lines[at_line - 1][at_column - 1:].startswith(rest)
