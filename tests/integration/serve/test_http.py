"""The service over real HTTP (uvicorn on 127.0.0.1, httpx), on a model with a number, an
integer and a category column: valid and batch requests, each way a request can be wrong,
an oversized body, and drift seen on the shifted feature only, over 1,000 requests each."""

from __future__ import annotations

import json

import httpx
import nbformat
import numpy as np
import pytest

from tests.integration.serve.servehelpers import NBPROD, latest_run, nbprod, serving
from tests.notebook_builder import make_notebook

pytestmark = pytest.mark.xdist_group("serve")

REGIONS = ["north", "south", "east"]
CELLS = [
    {"source": "n_rows: int = 800\nseed: int = 0", "tags": ["parameters"]},
    {"source": "import numpy as np\nimport pandas as pd\n"
               "from sklearn.linear_model import LogisticRegression\n\n"
               f"REGIONS = {REGIONS!r}\n\n\n"
               "def encode(rows: pd.DataFrame) -> pd.DataFrame:\n"
               "    region = pd.Categorical(rows['region'], categories=REGIONS)\n"
               "    dummies = pd.get_dummies(region, prefix='region', dtype=float)\n"
               "    dummies.index = rows.index\n"
               "    return pd.concat([rows[['size', 'rooms']].astype(float), dummies], axis=1)\n",
     "tags": ["export"]},
    {"source": "def predict(model, rows: pd.DataFrame) -> pd.Series:\n"
               "    return pd.Series(model.predict(encode(rows)), index=rows.index)\n",
     "tags": ["serve"]},
    {"source": "rng = np.random.default_rng(seed)\n"
               "frame = pd.DataFrame({'size': rng.normal(50, 10, n_rows),\n"
               "                      'rooms': rng.integers(1, 6, n_rows),\n"
               "                      'region': rng.choice(REGIONS, n_rows)})\n"
               "target = ((frame['size'] + 5 * frame['rooms']) > 65).astype(int)\n"
               "model = LogisticRegression(max_iter=1000).fit(encode(frame), target)\n"},
    {"source": "import nbprod\n\nnbprod.record_model('shop', model, training_data=frame)\n"},
]


def rows(count: int, seed: int, shift: float = 0.0) -> list[dict]:
    """Requests drawn as the training data was; ``shift`` moves the size column."""
    rng = np.random.default_rng(seed)
    return [{"size": float(rng.normal(50, 10)) + shift, "rooms": int(rng.integers(1, 6)),
             "region": str(rng.choice(REGIONS))} for _ in range(count)]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop")
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\n', encoding="utf-8")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "price.ipynb").write_text(nbformat.writes(make_notebook(*CELLS)))
    nbprod("export", "notebooks/price.ipynb", cwd=root)
    nbprod("run", "notebooks/price.ipynb", cwd=root)
    log = root / "serve.log"
    command = [NBPROD, "serve", "notebooks/price.ipynb", "--run", latest_run(root), "--port",
               "{port}", "--max-body", "65536", "--drift-window", "1000"]
    with serving(command, root, log) as url, httpx.Client(base_url=url) as client:
        yield client, log


def _problem(response: httpx.Response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()["problems"][0]


def test_one_record_and_a_batch(service):
    client, _ = service
    one = client.post("/predict", json=rows(1, 1)[0])
    assert one.status_code == 200
    assert one.json()["predictions"] in ([0], [1])
    batch = rows(100, 2)
    answer = client.post("/predict", json={"records": batch}).json()["predictions"]
    assert len(answer) == 100 and set(answer) == {0, 1}
    assert client.post("/predict", json=batch).json()["predictions"] == answer


def test_a_missing_column_is_named(service):
    client, _ = service
    record = rows(1, 3)[0]
    del record["rooms"]
    problem = _problem(client.post("/predict", json=record))
    assert (problem["field"], problem["type"]) == ("rooms", "missing")


def test_a_wrong_type_is_named(service):
    client, _ = service
    record = dict(rows(1, 4)[0], size="large")
    assert _problem(client.post("/predict", json=record))["field"] == "size"
    record = dict(rows(1, 4)[0], rooms=2.5)
    assert _problem(client.post("/predict", json=record))["field"] == "rooms"


@pytest.mark.parametrize(("field", "literal", "says"), [
    ("size", "NaN", "finite number, got nan"),
    ("size", "Infinity", "finite number, got inf"),
    ("size", "1e999", "finite number, got inf"),
    ("size", "-1e999", "finite number, got -inf"),
    ("size", "1" + "0" * 400, "out of the range of float64"),
    ("rooms", "100000000000000000000000000", "out of the range of the column's int64"),
    ("rooms", "NaN", "valid integer"),
])
def test_numbers_the_model_cannot_take_are_422_before_the_model(service, field, literal,
                                                                 says):
    client, _ = service
    seen = client.get("/drift").json()["seen"]
    record = rows(1, 12)[0]
    record[field] = "@"
    body = json.dumps(record).replace('"@"', literal)
    for content in (body, f'{{"records": [{json.dumps(rows(1, 13)[0])}, {body}]}}'):
        response = client.post("/predict", content=content,
                               headers={"content-type": "application/json"})
        problem = _problem(response)
        assert problem["field"] == field and says in problem["message"], response.text
        assert response.json()["error"].startswith(f"{field}: ")
    assert client.get("/drift").json()["seen"] == seen  # refused rows are not watched


def test_an_unknown_category_is_named(service):
    client, _ = service
    record = dict(rows(1, 5)[0], region="west")
    problem = _problem(client.post("/predict", json=record))
    assert problem["field"] == "region"
    assert "west" in problem["message"] and "north" in problem["message"]
    response = client.post("/predict", json={"records": [rows(1, 5)[0], record]})
    assert response.json()["problems"][0]["row"] == 1


def test_an_oversized_body_gets_413_and_the_worker_lives_on(service):
    client, _ = service
    response = client.post("/predict", json={"records": rows(2000, 6)})
    assert response.status_code == 413
    assert "65536" in response.json()["error"]
    assert client.post("/predict", content=b"{not json").status_code == 400
    deep = b"[" * 30_000 + b"]" * 30_000  # under the limit, deeper than json can read
    assert client.post("/predict", content=deep).status_code == 400
    assert client.post("/predict", json=[]).status_code == 422
    assert client.get("/health").json() == {"status": "ok"}
    assert client.post("/predict", json=rows(1, 7)[0]).status_code == 200
    metrics = client.get("/metrics").text
    assert 'nbprod_request_errors_total{reason="too_large"} 1' in metrics
    assert 'nbprod_request_errors_total{reason="bad_json"} 2' in metrics


def test_drift_flags_the_shifted_feature_only(service):
    client, log = service
    for record in rows(1000, 8):
        assert client.post("/predict", json=record).status_code == 200
    calm = client.get("/drift").json()
    assert calm["rows"] == 1000
    assert calm["drifted"] == []
    assert {f["verdict"] for f in calm["features"]} == {"stable"}
    for record in rows(1000, 9, shift=25.0):
        assert client.post("/predict", json=record).status_code == 200
    shifted = client.get("/drift").json()
    assert shifted["drifted"] == ["size"]
    verdicts = {f["feature"]: f["verdict"] for f in shifted["features"]}
    assert verdicts == {"size": "drifted", "rooms": "stable", "region": "stable"}
    metrics = client.get("/metrics").text
    assert 'nbprod_drift_detected{feature="size"} 1' in metrics
    assert 'nbprod_drift_detected{feature="rooms"} 0' in metrics
    assert "nbprod_request_duration_seconds_count" in metrics
    assert 'nbprod_predictions_total{value="1"}' in metrics
    warnings = [line for line in log.read_text().splitlines() if "drift: feature" in line]
    assert len(warnings) == 1 and "'size'" in warnings[0]


def test_metadata_carries_the_request_schema(service):
    client, _ = service
    meta = client.get("/metadata").json()
    row = next(iter(meta["schema"]["$defs"].values()))
    assert row["required"] == ["size", "rooms", "region"]
    assert row["properties"]["region"]["enum"] == sorted(REGIONS)
    assert json.dumps(meta)  # plain JSON all the way down


def test_drift_offline_on_a_csv(service, tmp_path):
    client, log = service
    project = log.parent
    run_id = client.get("/metadata").json()["run_id"]
    import pandas as pd

    pd.DataFrame(rows(500, 10, shift=25.0)).to_csv(tmp_path / "shifted.csv", index=False)
    pd.DataFrame(rows(500, 11)).to_csv(tmp_path / "calm.csv", index=False)
    drifted = nbprod("drift", run_id, tmp_path / "shifted.csv", "--output-format", "json",
                     cwd=project, check=False)
    assert drifted.returncode == 1, drifted.stderr
    assert json.loads(drifted.stdout)["drifted"] == ["size"]
    calm = nbprod("drift", run_id, tmp_path / "calm.csv", cwd=project, check=False)
    assert calm.returncode == 0, calm.stderr
    assert "stable" in calm.stdout and "0 of 3 features drifted" in calm.stderr
    pd.DataFrame({"size": [1.0]}).to_csv(tmp_path / "narrow.csv", index=False)
    narrow = nbprod("drift", run_id, tmp_path / "narrow.csv", cwd=project, check=False)
    assert narrow.returncode == 2
    assert narrow.stderr.strip().startswith("error:") and "'rooms'" in narrow.stderr
    assert "Traceback" not in narrow.stderr


def test_metadata_show_and_diff_use_the_parameters_the_run_used(service):
    client, log = service
    project = log.parent
    served = client.get("/metadata").json()
    assert served["parameters"] == {"n_rows": 800, "seed": 0}  # the notebook's defaults
    nbprod("models", "alias", "shop@champion", served["run_id"], cwd=project)
    shown = nbprod("models", "show", "shop@champion", cwd=project).stdout
    assert "params   n_rows=800, seed=0" in shown
    as_json = json.loads(nbprod("models", "show", "shop@champion", "--output-format", "json",
                                cwd=project).stdout)
    assert as_json["parameters"] == {"n_rows": 800, "seed": 0}
    nbprod("run", "notebooks/price.ipynb", "-p", "seed", "1", cwd=project)
    diff = nbprod("models", "diff", "shop@champion", "shop", cwd=project).stdout
    assert "parameters seed: 0 -> 1" in diff, diff
    assert "added" not in diff and "n_rows" not in diff
    data = json.loads(nbprod("models", "diff", "shop@champion", "shop", "--output-format",
                             "json", cwd=project).stdout)["parameters"]
    assert data["changed"] == {"seed": {"a": 0, "b": 1}}
    assert data["added"] == {} and data["removed"] == {}
