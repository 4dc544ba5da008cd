"""One reading of parameter text everywhere: run, sweep and pipeline give the same value, or
the same error, for the same ``-p NAME TEXT``."""

from __future__ import annotations

import re

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.errors import ParameterError
from nbprod.notebook import loads
from nbprod.params.coerce import resolve, schema
from nbprod.params.model import Parameter
from nbprod.pipeline.plan import plan_pipeline
from nbprod.pipeline.sweep import check_points
from nbprod.pipeline_ir import Pipeline, Step

PARAMETERS = ("flag: bool = False\nn: int = 1\nrate: float = 0.5\nname: str = 'a'\n"
              "ids: list[int] = []\nmode: Literal['fast', 'slow'] = 'fast'\n"
              "count = 3\nanything = None\nt: tuple[int, ...] = (1,)\n"
              "pair: tuple[int, str] = (0, 'a')\nd: dict[str, int] = {}")

#: (parameter, text) -> the value, or the start of the error's text after the parameter name.
TABLE = [
    ("flag", "on", True), ("flag", "no", False), ("flag", "maybe", "expects bool"),
    ("n", "3", 3), ("n", "3.5", "expects int"), ("n", "abc", "expects int"),
    ("rate", "1e-3", 0.001), ("rate", "fast", "expects float"),
    ("name", "007", "007"), ("name", "1e3", "1e3"),
    ("ids", "[1, 2]", [1, 2]), ("ids", '[1, "a"]', "expects list[int]"),
    ("mode", "slow", "slow"), ("mode", "quick", "expects one of"),
    ("count", "7", 7), ("count", "seven", "expects int"),  # untyped: typed by its default
    ("anything", "07", "07"),  # untyped, default None: text stays text
    # A tuple stays a tuple; a message names the type as the notebook declares it.
    ("t", "[1, 2]", (1, 2)), ("t", "(3, 4)", (3, 4)), ("t", "[]", ()),
    ("t", '[1, "a"]', "expects tuple[int, ...]"),
    ("pair", '[1, "x"]', (1, "x")), ("pair", "[1]", "expects tuple[int, str]"),
    ("d", "{a: 1, b: 2}", {"a": 1, "b": 2}), ("d", "{a: x}", "expects dict[str, int]"),
]


def _notebook():
    return loads(nbformat.writes(make_notebook(
        {"source": "from typing import Literal", "tags": []},
        {"source": PARAMETERS, "tags": ["parameters"]})), path="nb.ipynb")


def _by_run(name, text):
    return resolve(schema(_notebook()), {name: text}, texts=frozenset({name}))[name]


def _by_sweep(name, text):
    nb = nbformat.writes(make_notebook({"source": "from typing import Literal"},
                                       {"source": PARAMETERS, "tags": ["parameters"]}))
    return check_points(nb.encode(), "nb.ipynb", [{name: text}],
                        texts=frozenset({name}))[0][name]


def _by_pipeline(name, text, tmp_path):
    declared = [Parameter(p.name, p.type, p.default) for p in schema(_notebook())]
    pipeline = Pipeline("p", steps=(Step("s", notebook="nb.ipynb",
                                         parameters={p.name: p.default for p in declared}),),
                        parameters=tuple(declared))
    return plan_pipeline(pipeline, root=tmp_path, overrides={name: text}).parameters["s"][name]


@pytest.mark.parametrize(("name", "text", "expected"), TABLE)
def test_the_same_text_reads_the_same_everywhere(name, text, expected, tmp_path):
    readers = {"run": lambda: _by_run(name, text), "sweep": lambda: _by_sweep(name, text),
               "pipeline": lambda: _by_pipeline(name, text, tmp_path)}
    for entry, read in readers.items():
        if isinstance(expected, str) and expected.startswith(("expects", "one of")):
            with pytest.raises(ParameterError, match=re.escape(f"parameter '{name}' {expected}")):
                read()
        else:
            value = read()
            assert value == expected and type(value) is type(expected), (entry, value)
