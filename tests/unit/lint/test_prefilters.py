"""The cheap tests that let rules skip work must never skip something a rule would report."""

from __future__ import annotations

import ast
import json

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.analysis import _child_nodes
from nbprod.lint.checker import LintConfig, lint
from nbprod.lint.rules.hygiene import _size, _size_bound
from nbprod.lint.rules.secrets import _ALL_HINTS, _may_hold_secret
from nbprod.notebook import loads

TOKEN = "ghp_" + "A1b2C3d4" * 5


@pytest.mark.parametrize(
    "value",
    [
        {"output_type": "stream", "name": "stdout", "text": ["a\n", "é\x01\"\\\n"]},
        {"data": {"text/plain": "x" * 1000, "image/png": "iVBOR" * 300}, "metadata": {}},
        {"n": [1, -2.5e-308, True, None, {"k": ["\u2028", 10**30]}]},
        ["", [], {}, 0.1],
    ],
)
def test_size_bound_is_never_below_the_size(value):
    assert _size_bound(value) >= _size(value)


@pytest.mark.parametrize(
    "value",
    [
        {"z": [TOKEN], "a": 1},
        {"model_id": "abc", "state": {"description": "no secret here"}},
        {"key": "-----BEGIN RSA PRIVATE KEY-----\nabc"},
        {"nested": {"deeper": ["x", {"url": "hooks.slack.com/services/T1/B2/c3"}]}},
    ],
)
def test_compact_json_finds_the_hints_the_indented_text_has(value):
    indented = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
    assert _may_hold_secret(value) == any(hint in indented for hint in _ALL_HINTS)


def test_secret_in_a_json_output_is_still_found():
    output = {
        "output_type": "display_data",
        "data": {"application/json": {"config": {"token": TOKEN}}},
        "metadata": {},
    }
    nb = loads(nbformat.writes(make_notebook({"source": "show()", "outputs": [output]})))
    found = [d for d in lint(nb, LintConfig(select=("NB402",))).diagnostics]
    assert [(d.code, d.cell, d.output) for d in found] == [("NB402", 1, 1)]


def test_child_nodes_are_ast_children_without_markers():
    tree = ast.parse("x = [a + b for a in y if a == 1]\nf(*z, k=-w)\nclass C(B): pass")
    for node in ast.walk(tree):
        expected = [
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, (ast.expr_context, ast.operator, ast.cmpop,
                                      ast.unaryop, ast.boolop))
        ]
        assert _child_nodes(node) == expected
