"""The parameters-cell parser shared by export and runs."""

from __future__ import annotations

import pytest

from nbprod.errors import ParameterError
from nbprod.params.cell import parameter_specs, parse_parameters_cell
from nbprod.params.model import Parameter


def test_annotations_defaults_and_comments():
    source = (
        "# Parameters\n"
        "lr: float = 0.1  # learning rate\n"
        "# number of epochs\n"
        "epochs = 10\n"
        "name: str  # required\n"
        "layers: list[int] = [1, 2]\n"
    )
    assert parse_parameters_cell(source) == [
        Parameter("lr", "float", 0.1, "learning rate"),
        Parameter("epochs", None, 10, "number of epochs"),
        Parameter("name", "str", None, "required", required=True),
        Parameter("layers", "list[int]", [1, 2], None),
    ]


def test_non_literal_defaults_keep_their_source():
    specs = parameter_specs("from pathlib import Path\nroot = Path('data') / 'raw'\n")
    (spec,) = specs
    assert spec.parameter == Parameter("root", None, None, None)
    assert spec.default_source == "Path('data') / 'raw'" and not spec.literal


def test_inferred_type_from_literal_and_tuple_unpacking():
    specs = parameter_specs("a, b = 1, 'x'\nflag = True\n%matplotlib inline\n")
    assert [(s.parameter.name, s.inferred_type) for s in specs] == [
        ("a", "int"), ("b", "str"), ("flag", "bool")]


def test_reassignment_wins():
    assert parse_parameters_cell("x = 1\nx = 2\n") == [Parameter("x", None, 2, None)]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = (", "line 1: not valid Python"),
        ("obj.attr = 1", "only plain names"),
        ("for i in range(3):\n    pass", "holds only assignments"),
        ("%%bash\necho", "cell magic"),
    ],
)
def test_bad_cells_are_refused(source, message):
    with pytest.raises(ParameterError, match=message):
        parse_parameters_cell(source, where="nb.ipynb cell 2")
