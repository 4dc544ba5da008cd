"""Parameter schema, coercion of command-line and YAML values, and safe injection."""

from __future__ import annotations

import ast
import datetime as dt
import math
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from notebook_builder import make_notebook

from nbprod.errors import ParameterError
from nbprod.notebook import loads
from nbprod.params import coerce, files, inject, redact

PARAMS_CELL = """\
from pathlib import Path
from typing import Literal
lr: float = 0.1  # learning rate
epochs: int = 3
name: str = "base"
debug: bool = False
layers: list[int] = [1, 2]
options: dict[str, float] = {}
start: dt.date = None
when: datetime | None = None
out: Path = Path("out")
mode: Literal["fast", "slow"] = "fast"
level: Literal[1, 2, 3] = 1
api_token: str = ""
untyped = 5
anything = None
# the dataset to read
dataset: str
"""


def nb_with(source: str = PARAMS_CELL):
    node = make_notebook({"source": source, "tags": ["parameters"]}, "print(lr)")
    return loads(nbformat.writes(node), path="train.ipynb")


@pytest.fixture(scope="module")
def schema():
    return {p.name: p for p in coerce.schema(nb_with())}


def test_schema_reads_types_defaults_help_and_required(schema):
    assert schema["lr"].spec == coerce.TypeSpec("float")
    assert schema["lr"].help == "learning rate"
    assert schema["layers"].spec == coerce.TypeSpec("list", (coerce.TypeSpec("int"),))
    assert schema["when"].spec == coerce.TypeSpec("datetime", optional=True)
    assert schema["mode"].spec == coerce.TypeSpec("literal", ("fast", "slow"))
    assert schema["untyped"].spec == coerce.TypeSpec("int")  # inferred from the literal default
    assert schema["anything"].spec.base == "any"
    assert schema["dataset"].required and schema["dataset"].help == "the dataset to read"
    assert schema["out"].default_source == 'Path("out")'


def test_to_dict_hides_secret_defaults(schema):
    data = schema["api_token"].to_dict()
    assert data["default"] == redact.REDACTED and data["default_source"] is None
    assert schema["mode"].to_dict()["choices"] == ["fast", "slow"]


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("int", coerce.TypeSpec("int")),
        ("Optional[int]", coerce.TypeSpec("int", optional=True)),
        ("Union[str, None]", coerce.TypeSpec("str", optional=True)),
        ("'float'", coerce.TypeSpec("float")),
        ("typing.List[str]", coerce.TypeSpec("list", (coerce.TypeSpec("str"),))),
        ("tuple[int, ...]", coerce.TypeSpec("tuple", (coerce.TypeSpec("int"),))),
        ("tuple[int, str]",
         coerce.TypeSpec("items", (coerce.TypeSpec("int"), coerce.TypeSpec("str")))),
        ("pathlib.Path", coerce.TypeSpec("path")),
        ("datetime.date", coerce.TypeSpec("date")),
        ("np.ndarray", coerce.TypeSpec("any")),
        ("int | str", coerce.TypeSpec("any")),
        ("not valid(", coerce.TypeSpec("any")),
        (None, coerce.TypeSpec("any")),
    ],
)
def test_parse_type(annotation, expected):
    assert coerce.parse_type(annotation) == expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("lr", "0.5", 0.5),
        ("lr", "1e-3", 1e-3),
        ("epochs", " 7 ", 7),
        ("debug", "yes", True),
        ("debug", "False", False),
        ("layers", "[3, 4]", [3, 4]),
        ("layers", "[5, 6]", [5, 6]),
        ("options", '{"a": 1}', {"a": 1.0}),
        ("options", "{b: 2.5}", {"b": 2.5}),  # YAML flow style
        ("start", "2024-02-29", dt.date(2024, 2, 29)),
        ("when", "2024-01-02T03:04:05+01:00",
         dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))),
        ("when", "none", None),
        ("out", "results/x.csv", Path("results/x.csv")),
        ("mode", "slow", "slow"),
        ("level", "2", 2),
        ("name", "123", "123"),
        ("untyped", "9", 9),
        ("anything", "text stays text", "text stays text"),
    ],
)
def test_coerce_command_line_text(schema, name, text, expected):
    assert coerce.coerce(schema[name], text, from_text=True) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("lr", 1, 1.0),
        ("epochs", 4.0, 4),
        ("name", 12, "12"),
        ("start", dt.date(2024, 1, 1), dt.date(2024, 1, 1)),
        ("when", dt.date(2024, 1, 1), dt.datetime(2024, 1, 1)),
        ("layers", (1, 2), [1, 2]),
        ("anything", {"nested": [1, {"x": None}]}, {"nested": [1, {"x": None}]}),
    ],
)
def test_coerce_yaml_data(schema, name, value, expected):
    assert coerce.coerce(schema[name], value, from_text=False) == expected


@pytest.mark.parametrize(
    ("name", "value", "from_text", "fragment"),
    [
        ("lr", "fast", True, "expects float, got 'fast'"),
        ("lr", True, False, "expects float"),
        ("epochs", 1.5, False, "expects int"),
        ("debug", "maybe", True, "use true or false"),
        ("debug", 1, False, "expects bool"),
        ("name", 1.5, False, "quote the value"),
        ("layers", "[1, 'x']", True, "expects list[int]"),
        ("start", "2024-13-01", True, "expects dt.date"),  # the annotation as written
        ("start", dt.datetime(2024, 1, 1, 5), False, "a date has no time of day"),
        ("mode", "fsat", True, "did you mean 'fast'"),
        ("mode", None, False, "expects one of 'fast', 'slow'"),
        ("api_token", 5.5, False, "got ***"),
    ],
)
def test_coerce_refuses_with_a_clear_message(schema, name, value, from_text, fragment):
    with pytest.raises(ParameterError) as info:
        coerce.coerce(schema[name], value, from_text=from_text, where="train.ipynb")
    assert fragment in str(info.value)
    assert str(info.value).startswith("train.ipynb: parameter")


def test_resolve_unknown_name_suggests():
    params = coerce.schema(nb_with())
    with pytest.raises(ParameterError, match=r"unknown parameter 'epoch' \(did you mean 'epochs'"):
        coerce.resolve(params, {"epoch": "3", "dataset": "d"}, texts=frozenset({"epoch"}))


def test_resolve_requires_required_names():
    params = coerce.schema(nb_with())
    with pytest.raises(ParameterError, match="required parameter 'dataset' not given"):
        coerce.resolve(params, {"lr": 0.2})
    values = coerce.resolve(params, {"dataset": "d", "lr": "0.2"}, texts=frozenset({"lr"}))
    assert values == {"dataset": "d", "lr": 0.2}


def test_resolve_without_parameters_cell():
    nb = loads(nbformat.writes(make_notebook("x = 1")), path="n.ipynb")
    assert coerce.resolve(coerce.schema(nb), {}) == {}
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        coerce.resolve(coerce.schema(nb), {"x": 2})


HOSTILE = [
    "'); import os; os.system('x')#",
    '"""; import os; os.system("x"); """',
    "\\'; __import__('os').system('x') #",
    "line1\nline2\r\n\ttab\x00nul",
    "x" * 100_000,
    "héllo wörld ✓ 日本語 🚀",
    "\udcff lone surrogate",
    "{{ jinja }} ${shell} `backtick` $(cmd)",
]


def _execute(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<injected>", "exec"), {"__builtins__": __builtins__}, namespace)
    return namespace


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_round_trip_exactly(value):
    source = inject.render_assignments({"name": value})
    assert _execute(source)["name"] == value


def test_nested_json_dates_paths_and_special_floats_round_trip():
    values = {
        "config": {"a": [1, 2.5, {"b": None, "c": ["x", True]}], "é": {"'": '"'}},
        "start": dt.date(2024, 2, 29),
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        "naive": dt.datetime(2024, 1, 2),
        "out": Path("results/ü x.csv"),
        "big": 10**40,
        "neg": -3.5e-300,
        "inf": math.inf,
        "minus_inf": -math.inf,
    }
    namespace = _execute(inject.render_assignments(values))
    for name, value in values.items():
        assert namespace[name] == value, name
    assert math.isnan(_execute(inject.render_assignments({"x": math.nan}))["x"])


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
))
def test_any_json_value_round_trips(value):
    assert _execute(inject.render_assignments({"v": value}))["v"] == value


def test_injected_source_is_only_literal_assignments():
    source = inject.render_assignments({"a": "x", "b": [1, {"c": dt.date(2020, 1, 1)}]})
    tree = ast.parse(source)
    assert all(isinstance(stmt, ast.Assign) for stmt in tree.body)
    with pytest.raises(ParameterError, match="not a literal"):
        inject._check_literal_only("a = open('x')\n")
    with pytest.raises(ParameterError, match="plain assignments"):
        inject._check_literal_only("import os\n")
    with pytest.raises(ParameterError, match="cannot be injected"):
        inject.render_assignments({"a": object()})


def test_inject_after_parameters_cell_and_replace_existing():
    node = make_notebook("import x", {"source": "a = 1", "tags": ["parameters"]}, "print(a)")
    assert inject.inject(node, {"a": 2}) == 2
    assert node.cells[2].metadata.tags == [inject.INJECTED_TAG]
    assert node.cells[2].id == inject.INJECTED_TAG
    assert node.cells[2].source == "# Parameters\na = 2\n"
    assert inject.inject(node, {"a": 3}) == 2  # replaced, not added again
    assert len(node.cells) == 4 and node.cells[2].source.endswith("a = 3\n")
    assert inject.inject(node, {}) is None


def test_redact_secrets_by_name():
    values = {"api_token": "abc", "db_password": "p", "sort_key": 1, "lr": 0.1,
              "start": dt.date(2024, 1, 1), "out": Path("o")}
    assert redact.redact(values) == {"api_token": "***", "db_password": "***", "sort_key": "***",
                                "lr": 0.1, "start": "2024-01-01", "out": "o"}
    assert not redact.is_secret("monkey") and not redact.is_secret("keyboard")


def test_parameter_file(tmp_path):
    good = tmp_path / "p.yaml"
    good.write_text("lr: 0.5\nstart: 2024-01-01\nlayers: [1, 2]\n", encoding="utf-8")
    assert files.load_parameter_file(good) == {"lr": 0.5, "start": dt.date(2024, 1, 1),
                                           "layers": [1, 2]}
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr: [1,\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"bad.yaml, line 2: not valid YAML; fix it$"):
        files.load_parameter_file(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="list.yaml: must be a YAML mapping"):
        files.load_parameter_file(listing)
    with pytest.raises(ParameterError, match="no such parameter file"):
        files.load_parameter_file(tmp_path / "missing.yaml")


def test_undecodable_command_line_text_is_refused(schema):
    with pytest.raises(ParameterError, match="not valid UTF-8"):
        coerce.coerce(schema["name"], "bad \udcff byte", from_text=True)


def test_tuples_are_injected_as_tuples():
    values = {"one": (1,), "none": (), "pair": (1, ("x", [2])), "inner": [(1, 2)]}
    source = inject.render_assignments(values)
    assert "one = (1,)" in source and "none = ()" in source
    namespace = _execute(source)
    for name, value in values.items():
        assert namespace[name] == value and type(namespace[name]) is type(value), name
