"""Sweep points: grid and zip expansion, sweep files, command-line values."""

from __future__ import annotations

import json

import pytest

from nbprod.errors import ConfigError, ParameterError
from nbprod.params.coerce import coerce_text, split_values
from nbprod.pipeline.sweep import expand, load_sweep_file


def test_grid_is_every_combination_in_order():
    points = expand({"lr": [0.1, 0.01], "depth": [3, 5]}, "grid")
    assert points == [{"lr": 0.1, "depth": 3}, {"lr": 0.1, "depth": 5},
                      {"lr": 0.01, "depth": 3}, {"lr": 0.01, "depth": 5}]


def test_zip_pairs_values_and_refuses_uneven_lists():
    assert expand({"lr": [0.1, 0.01], "depth": [3, 5]}, "zip") == [
        {"lr": 0.1, "depth": 3}, {"lr": 0.01, "depth": 5}]
    with pytest.raises(ParameterError, match="same number of values.*lr: 2, depth: 3"):
        expand({"lr": [0.1, 0.01], "depth": [3, 5, 7]}, "zip")


def test_empty_list_and_unknown_mode():
    with pytest.raises(ParameterError, match="'lr' has no values"):
        expand({"lr": []})
    with pytest.raises(ParameterError, match="unknown sweep mode"):
        expand({"lr": [1]}, "cartesian")


def test_values_from_the_command_line():
    # Split only: the notebook's schema reads each value (see test_parameter_coercion).
    assert split_values("0.1,0.01") == ["0.1", "0.01"]
    assert split_values("adam, sgd") == ["adam", "sgd"]
    assert split_values("[1, 2]") == [1, 2]  # a list literal is data
    assert coerce_text("value", "5", "float", where="pipeline") == 5.0
    assert coerce_text("value", "007", "str", where="pipeline") == "007"
    with pytest.raises(ParameterError, match="parameter 'depth' expects int, got 'abc'"):
        coerce_text("depth", "abc", "int", where="pipeline")


def test_sweep_file(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("notebook: train.ipynb\nmode: zip\nmax-parallel: 2\n"
                    "parameters:\n  lr: [0.1, 0.2]\n  depth: 3\nruns:\n  - {lr: 1.0}\n")
    spec = load_sweep_file(path)
    assert spec.notebook == "train.ipynb"
    assert spec.mode == "zip"
    assert spec.max_parallel == 2
    assert spec.parameters == {"lr": [0.1, 0.2], "depth": [3]}
    assert spec.runs == ({"lr": 1.0},)


@pytest.mark.parametrize("text, message", [
    ("parameterz: {}\n", "unknown key 'parameterz' (did you mean 'parameters'?)"),
    ("- 1\n- 2\n", "a sweep file is a mapping"),
    ("runs: [1, 2]\n", "'runs' must be a list of mappings"),
    ("parameters: [1]\n", "'parameters' must map"),
    ("a: [\n", "not valid YAML"),
    ("max-paralel: 1\n",
     "unknown key 'max-paralel' (did you mean 'max-parallel'?); known keys: notebook, mode,"),
    ("max_paralel: 1\n", "unknown key 'max_paralel' (did you mean 'max_parallel'?)"),
    ("mode: zipp\n", "'mode' must be 'grid' or 'zip', got 'zipp' (did you mean 'zip'?)"),
    ("max-parallel: -1\n", "'max-parallel' must be a whole number >= 0, got -1"),
    ("executor: lokal\n", "'executor': unknown executor 'lokal' (did you mean 'local'?)"),
    ("max-parallel: 1\nmax_parallel: 2\n", "'max-parallel' and 'max_parallel' are the same key"),
])
def test_sweep_file_errors_name_the_file_and_the_key_as_written(tmp_path, text, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_sweep_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_the_sweep_table_leaves_out_recorded_lists_and_says_so():
    """A list record (predictions) would show its first characters in every row: the text
    table names it under the table instead, the JSON keeps it."""
    from types import SimpleNamespace

    from nbprod.cli.sweep import _table

    runs = [SimpleNamespace(index=i, parameters={"depth": i}, status="succeeded",
                            records={"accuracy": 0.5 + i / 10, "predictions": [0, 1, i]},
                            run_id=f"run-{i}", error=None) for i in (1, 2)]
    result = SimpleNamespace(sweep_id="sweep-1", notebook="train.ipynb", runs=runs)
    text = _table(result, "text")
    assert "accuracy" in text and "0.6" in text
    assert "predictions" not in text.split("not shown")[0]
    assert "not shown: predictions (--output-format json has them)" in text
    assert json.loads(_table(result, "json"))["runs"][0]["predictions"] == [0, 1, 1]


def test_a_value_recorded_under_a_parameters_name_has_a_column_of_its_own():
    from types import SimpleNamespace

    from nbprod.cli.sweep import _table

    runs = [SimpleNamespace(index=i, parameters={"lr": i / 10}, status="succeeded",
                            records={"lr": i / 100, "status": "ok"}, run_id=f"run-{i}",
                            error=None) for i in (1, 2)]
    result = SimpleNamespace(sweep_id="sweep-1", notebook="train.ipynb", runs=runs)
    header = _table(result, "csv").splitlines()[0]
    assert header == "run,lr,lr (recorded),status (recorded),status,run_id,error"
    assert _table(result, "csv").splitlines()[1] == "1,0.1,0.01,ok,succeeded,run-1,"
    row = json.loads(_table(result, "json"))["runs"][1]
    assert (row["lr"], row["lr (recorded)"], row["status"]) == (0.2, 0.02, "succeeded")
    text = _table(result, "text")
    assert "lr (recorded)" in text and "0.02" in text


def test_values_split_at_commas_outside_brackets_braces_and_quotes():
    from nbprod.params.coerce import parse_type

    mapping, tuples, text = (parse_type("dict[str, int]"), parse_type("tuple[int, ...]"),
                             parse_type("str"))
    assert split_values("{a: 1, b: 2}", mapping) == ["{a: 1, b: 2}"]
    assert split_values('{"a": 1, "b": 2},{"a": 3}', mapping) == ['{"a": 1, "b": 2}', '{"a": 3}']
    # For a list, tuple or mapping parameter a list literal is one value, not the values.
    assert split_values("[1, 2]", tuples) == ["[1, 2]"]
    assert split_values("[1, 2], [3]", tuples) == ["[1, 2]", "[3]"]
    assert split_values("(1, 2),(3, 4)", tuples) == ["(1, 2)", "(3, 4)"]
    assert split_values('"a,b",c', text) == ["a,b", "c"]
    assert split_values("['a,b', 'c']", text) == ["a,b", "c"]
    assert split_values("it's,fine", text) == ["it's", "fine"]
    assert split_values("[0.1, 0.2]", parse_type("float")) == [0.1, 0.2]


