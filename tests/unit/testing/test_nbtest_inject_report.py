"""Test-time parameter injection and the failure report, without a kernel."""

from __future__ import annotations

import nbformat
import pytest

from nbprod.errors import ParameterError
from nbprod.notebook import loads
from nbprod.testing.execute import CellProblem
from nbprod.testing.inject import inject_parameters
from nbprod.testing.report import format_problems


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for index, (source, tags) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"c{index}"
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return loads(nbformat.writes(nb), path="nb.ipynb")


def test_parameters_go_right_after_the_parameters_cell_with_coercion():
    nb = notebook(("import os", None), ("n: int = 5\nrate = 0.5", ["parameters"]), ("n", None))
    node, position, replaced = inject_parameters(nb, {"n": 2, "rate": 1})
    assert (position, replaced) == (2, False)
    injected = node.cells[2]
    assert injected.metadata.tags == ["injected-parameters"]
    assert "n = 2\n" in injected.source and "rate = 1.0\n" in injected.source
    assert len(nb.node.cells) == 3  # the loaded notebook is untouched


def test_a_stale_injected_cell_is_replaced_not_duplicated():
    nb = notebook(("n = 5", ["parameters"]), ("n = 1", ["injected-parameters"]), ("n", None))
    node, position, replaced = inject_parameters(nb, {"n": 9})
    assert (position, replaced, len(node.cells)) == (1, True, 3)
    assert "n = 9" in node.cells[1].source


def test_nothing_to_inject_returns_a_copy():
    nb = notebook(("x = 1", None))
    node, position, replaced = inject_parameters(nb, {})
    assert (position, replaced) == (None, False)
    assert node == nb.node and node is not nb.node


@pytest.mark.parametrize(
    ("cells", "values", "message"),
    [
        ([("x = 1", None)], {"x": 2}, "no cell tagged 'parameters'"),
        ([("n: int = 5", ["parameters"])], {"m": 2}, "unknown parameter 'm'"),
        ([("n: int = 5", ["parameters"])], {"n": "many"}, "parameter 'n' expects"),
    ],
)
def test_bad_parameters_are_parameter_errors(cells, values, message):
    with pytest.raises(ParameterError, match=message) as caught:
        inject_parameters(notebook(*cells), values)
    assert "[tool.nbprod.test.parameters]" in str(caught.value)


def test_report_names_cell_shows_numbered_source_and_detail():
    nb = notebook(("x = 1", None), ("\n".join(f"line_{i} = {i}" for i in range(40)), None))
    detail = "Traceback...\nValueError: bad"
    problem = CellProblem("error", "raised ValueError: bad", nb.cells[1], detail)
    text = format_problems("notebooks/nb.ipynb", [problem])
    lines = text.splitlines()
    assert lines[0] == "notebooks/nb.ipynb: cell 2 (id 'c2'): raised ValueError: bad"
    assert " 1 | line_0 = 0" in text and "30 | line_29 = 29" in text
    assert "line_30" not in text and "(10 more lines)" in text
    assert text.endswith("--- traceback ---\nTraceback...\nValueError: bad")


def test_report_without_a_cell():
    text = format_problems("nb.ipynb", [CellProblem("kernel", "kernel 'x' could not start")])
    assert text == "nb.ipynb: kernel 'x' could not start"
