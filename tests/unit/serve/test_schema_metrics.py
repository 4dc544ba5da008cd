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
