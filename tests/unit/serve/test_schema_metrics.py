"""The request schema generated from a profile, and the Prometheus text."""

from __future__ import annotations

import pandas as pd
import pytest

from nbprod.run.training_profile import profile_frame
from nbprod.serve.metrics import Metrics
from nbprod.serve.schema import RequestError, RowSchema

TRAINING = pd.DataFrame({"size": [40.5, 52.0, 61.25], "rooms": [1, 2, 3],
                         "region": ["north", "south", "north"], "note": ["a", None, "b"]})
GOOD = {"size": 50, "rooms": 2, "region": "south", "note": None}


@pytest.fixture(scope="module")
def schema():
    return RowSchema(profile_frame(TRAINING))


def _refusal(schema, body) -> RequestError:
    with pytest.raises(RequestError) as caught:
        schema.frame(body)
    return caught.value


def test_every_body_shape_gives_the_same_frame(schema):
    expected = schema.frame(GOOD)
    assert list(expected.columns) == ["size", "rooms", "region", "note"]
    assert expected.dtypes["size"] == "float64" and expected.dtypes["rooms"] == "int64"
    assert expected.iloc[0]["size"] == 50.0
    for body in ([GOOD], {"records": [GOOD]}, {"columns": {k: [v] for k, v in GOOD.items()}}):
        assert schema.frame(body).equals(expected)


@pytest.mark.parametrize(("change", "field", "kind"), [
    ({"size": "big"}, "size", "float_type"),
    ({"rooms": 2.5}, "rooms", "int_type"),
    ({"region": "west"}, "region", "literal_error"),
    ({"size": None}, "size", "float_type"),
    ({"colour": "red"}, "colour", "extra_forbidden"),
])
def test_each_problem_names_its_field(schema, change, field, kind):
    error = _refusal(schema, {**GOOD, **change})
    assert error.status == 422
    assert (error.problems[0]["field"], error.problems[0]["type"]) == (field, kind)
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize(("change", "field", "kind", "says"), [
    ({"size": float("nan")}, "size", "finite_number", "finite number, got nan"),
    ({"size": float("inf")}, "size", "finite_number", "finite number, got inf"),
    ({"size": -float("inf")}, "size", "finite_number", "finite number, got -inf"),
    ({"size": 10 ** 400}, "size", "float_type", "out of the range of float64"),
    ({"rooms": 10 ** 26}, "rooms", "less_than_equal", "out of the range of the column's int64"),
    ({"rooms": -2 ** 63 - 1}, "rooms", "greater_than_equal", "int64"),
    ({"rooms": float("nan")}, "rooms", "int_type", "valid integer"),
    ({"rooms": float("inf")}, "rooms", "int_type", "valid integer"),
    ({"note": float("nan")}, "note", "literal_error", "unknown category nan"),
])
def test_numbers_the_model_cannot_take_are_refused(schema, change, field, kind, says):
    error = _refusal(schema, {**GOOD, **change})
    assert error.status == 422
    assert (error.problems[0]["field"], error.problems[0]["type"]) == (field, kind)
    assert says in error.problems[0]["message"]
    assert len(str(error)) < 200  # a 400-digit number is not quoted whole
    in_columns = _refusal(schema, {"columns": {k: [v] for k, v in {**GOOD, **change}.items()}})
    assert in_columns.problems[0]["type"] == kind


def test_the_edges_of_int64_and_of_a_narrower_dtype():
    assert schema_of(pd.DataFrame({"n": [1, 2]})).frame({"n": 2 ** 63 - 1})["n"][0] == 2 ** 63 - 1
    narrow = schema_of(pd.DataFrame({"n": pd.array([1, 2], dtype="int8"),
                                     "x": pd.array([0.5, 1.5], dtype="float32")}))
    assert narrow.frame({"n": 127, "x": 1e38}).dtypes.to_dict() == {"n": "int8", "x": "float32"}
    assert "int8 (-128 to 127), got 128" in str(_refusal(narrow, {"n": 128, "x": 1.0}))
    assert "float32" in str(_refusal(narrow, {"n": 1, "x": 1e39}))


def schema_of(frame: pd.DataFrame) -> RowSchema:
    return RowSchema(profile_frame(frame))


def test_a_missing_column_and_the_row_of_a_batch(schema):
    partial = {k: v for k, v in GOOD.items() if k != "rooms"}
    error = _refusal(schema, {"records": [GOOD, partial]})
    assert error.problems[0] == {"row": 1, "field": "rooms", "type": "missing",
                                 "message": "missing column"}
    assert str(error) == "rooms: missing column (row 1)"


def test_shapes_that_are_not_records(schema):
    assert _refusal(schema, []).status == 422
    assert _refusal(schema, "text").status == 422
    assert "same length" in str(_refusal(schema, {"columns": {"size": [1], "rooms": [1, 2]}}))


def test_metrics_text():
    metrics = Metrics()
    metrics.request("/predict", 200, 0.003)
    metrics.request("/predict", 422)
    metrics.error("validation")
    metrics.predictions([0, 1, 1, "cat", 2.5])
    drift = {"rows": 3, "features": [{"feature": 'a"b', "psi": 0.5, "verdict": "drifted",
                                      "missing_rate": {"training": 0.0, "live": 0.0}}]}
    text = metrics.render(drift)
    assert 'nbprod_requests_total{endpoint="/predict",status="200"} 1' in text
    assert 'nbprod_request_duration_seconds_bucket{le="0.0025"} 0' in text
    assert 'nbprod_request_duration_seconds_bucket{le="0.005"} 1' in text
    assert 'nbprod_request_duration_seconds_bucket{le="+Inf"} 1' in text
    assert 'nbprod_predictions_total{value="1"} 2' in text
    assert 'nbprod_predictions_total{value="cat"} 1' in text
    assert "nbprod_prediction_value_sum 2.5" in text
    assert 'nbprod_drift_detected{feature="a\\"b"} 1' in text
    assert text.endswith("\n")
