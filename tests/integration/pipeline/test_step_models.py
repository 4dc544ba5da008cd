"""A pipeline step's returned value kept as a model (``[tool.nbprod.pipeline.models]``), as
``nbprod.record_model`` keeps one from a notebook: in the step's receipt, with the profile of
its training data, found by the model registry."""

from __future__ import annotations

import json

import pandas as pd

from nbprod.serve.registry import load, resolve
from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import write_notebook

CELLS = (
    {"source": "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
     "tags": ["export"]},
    {"source": "X = pd.DataFrame({'a': [0.0, 1.0, 2.0, 3.0], 'b': [1.0, 0.0, 1.0, 0.0]})\n"
               "y = [0, 0, 1, 1]", "tags": ["step:prepare"]},
    {"source": "model = LogisticRegression().fit(X, y)", "tags": ["step:train"]},
    # A step returns the values later steps use: the model is handed on to "evaluate".
    {"source": "accuracy = model.score(X, y)\nprint(accuracy)", "tags": ["step:evaluate"]},
)


def _project(tmp_path, models: str):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.nbprod.pipeline]\nnotebook = "steps.ipynb"\n\n'
        f"[tool.nbprod.pipeline.models]\n{models}\n")
    return write_notebook(tmp_path / "steps.ipynb", *CELLS)


def test_a_step_value_named_in_config_is_kept_as_a_model(tmp_path, run_cli):
    notebook = _project(tmp_path, 'clf = { value = "model", training-data = "X" }')
    result = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "--output-format",
                     "json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    store = open_project_store(tmp_path)
    receipt = store.get_run(steps["train"]["run_id"])
    [entry] = receipt["models"]
    assert entry["name"] == "clf" and entry["format"] == "skops"
    assert [c["name"] for c in entry["profile"]["columns"]] == ["a", "b"]
    assert entry["hash"] in receipt["objects"]
    assert "models" not in store.get_run(steps["prepare"]["run_id"])

    listed = run_cli("models", "list", "--output-format", "json", cwd=tmp_path)
    assert listed.exit_code == 0, listed.output
    assert [m["run_id"] for m in json.loads(listed.stdout) if m["name"] == "clf"] == [
        steps["train"]["run_id"]]
    model = load(store, resolve(store, model="clf"))
    rows = pd.DataFrame({"a": [0.0, 3.0], "b": [1.0, 0.0]})
    assert list(model.predict(rows)) == [0, 1]


def test_a_model_naming_a_value_no_step_returns_is_one_line_exit_2(tmp_path, run_cli):
    notebook = _project(tmp_path, 'clf = { value = "estimator" }')
    result = run_cli("pipeline", "run", notebook, "--max-parallel", "1", cwd=tmp_path)
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert "clf: no step returns value 'estimator'" in message and "model" in message
    assert not (tmp_path / ".nbprod" / "runs").exists() or not any(
        (tmp_path / ".nbprod" / "runs").iterdir())
