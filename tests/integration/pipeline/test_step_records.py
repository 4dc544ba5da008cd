"""What a function step (a ``step:`` cell) gives ``nbprod.record`` and ``nbprod.record_model``
lands in its own receipt, and the model in the store, as for ``nbprod run``; the files it
writes are listed as its outputs."""

from __future__ import annotations

import datetime as dt
import json
import os

import pandas as pd

from nbprod.serve.registry import load, resolve
from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import write_notebook

CELLS = (
    {"source": "rows: int = 4", "tags": ["parameters"]},
    {"source": "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
     "tags": ["export"]},
    {"source": "X = pd.DataFrame({'a': [0.0, 1.0, 2.0, 3.0][:rows],"
               " 'b': [1.0, 0.0, 1.0, 0.0][:rows]})\ny = [0, 0, 1, 1][:rows]",
     "tags": ["step:prepare"]},
    {"source": "model = LogisticRegression().fit(X, y)", "tags": ["step:train"]},
    {"source": "import pickle\nimport nbprod\n\naccuracy = model.score(X, y)\n"
               "nbprod.record('accuracy', accuracy)\n"
               "nbprod.record('rows', len(X))\n"
               "nbprod.record_model('clf', model, training_data=X)\n"
               "with open('../model.pkl', 'wb') as fh:\n    pickle.dump(model, fh)\n"
               "print('evaluated')",
     "tags": ["step:evaluate"]},
)


def write_project(root):
    """A project whose notebook sits in notebooks/ and writes ../model.pkl (at the root)."""
    (root / "pyproject.toml").write_text('[project]\nname = "recorder"\n')
    return write_notebook(root / "notebooks" / "train.ipynb", *CELLS)


def check_evaluate(root, steps: dict) -> dict:
    """The checks both executors share; returns the evaluate step's receipt."""
    store = open_project_store(root)
    receipt = store.get_run(steps["evaluate"]["run_id"])
    assert receipt["records"]["rows"] == 4
    assert 0.0 <= receipt["records"]["accuracy"] <= 1.0
    [entry] = receipt["models"]
    assert entry["name"] == "clf" and entry["format"] == "skops"
    assert [c["name"] for c in entry["profile"]["columns"]] == ["a", "b"]
    assert entry["hash"] in receipt["objects"] and store.objects.exists(entry["hash"])
    stdout = receipt["pipeline"]["stdout"]
    assert "not inside an nbprod run" not in stdout and "evaluated" in stdout
    # The file it wrote, though not declared, is listed as its output, by content hash.
    outputs = [e for e in receipt["data"] if e["role"] == "output"]
    assert [e["path"] for e in outputs] == ["model.pkl"]
    assert outputs[0]["hash"] == store.hash_file(root / "model.pkl")[0]
    for other in ("prepare", "train"):
        kept = store.get_run(steps[other]["run_id"])
        assert "records" not in kept and "models" not in kept
    model = load(store, resolve(store, model="clf"))
    assert list(model.predict(pd.DataFrame({"a": [0.0, 3.0], "b": [1.0, 0.0]}))) == [0, 1]
    return receipt


def test_records_and_models_of_a_function_step_land_in_its_receipt(tmp_path, run_cli):
    notebook = write_project(tmp_path)
    # The default local executor: function steps run in worker processes of a LocalCluster.
    result = run_cli("pipeline", "run", notebook, "--max-parallel", "2", "--output-format",
                     "json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    receipt = check_evaluate(tmp_path, steps)
    assert not receipt["pipeline"]["worker"].endswith(f":{os.getpid()}")

    listed = run_cli("models", "list", "--output-format", "json", cwd=tmp_path)
    assert listed.exit_code == 0, listed.output
    found = [m for m in json.loads(listed.stdout) if m["name"] == "clf"]
    assert [m["run_id"] for m in found] == [steps["evaluate"]["run_id"]]
    assert found[0]["records"]["rows"] == 4
    # Recorded once they ended, the steps are listed with the time they started.
    listed_steps = json.loads(run_cli("runs", "list", "--kind", "step", "--output-format",
                                      "json", cwd=tmp_path).stdout)
    for step in listed_steps:
        started, ended = (dt.datetime.fromisoformat(step[k]) for k in ("started", "ended"))
        assert (ended - started).total_seconds() >= 0.9 * step["duration_s"], step

    # In this process (--max-parallel 1) too, and a rerun with nothing changed is cached.
    again = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "--force",
                    "--output-format", "json", cwd=tmp_path)
    assert again.exit_code == 0, again.output
    check_evaluate(tmp_path, {s["name"]: s for s in json.loads(again.stdout)["steps"]})
    cached = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "--output-format",
                     "json", cwd=tmp_path)
    assert {s["status"] for s in json.loads(cached.stdout)["steps"]} == {"cached"}


def test_what_a_failing_function_step_recorded_is_kept(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "failing"\n')
    notebook = write_notebook(
        tmp_path / "flow.ipynb",
        {"source": "n: int = 3", "tags": ["parameters"]},
        {"source": "import nbprod\nnbprod.record('seen', n)\nraise ValueError('too few')",
         "tags": ["step:check"]},
    )
    result = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "--output-format",
                     "json", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    [step] = json.loads(result.stdout)["steps"]
    receipt = open_project_store(tmp_path).get_run(step["run_id"])
    assert receipt["status"] == "failed" and receipt["error"]["ename"] == "ValueError"
    assert receipt["records"] == {"seen": 3}


def test_a_step_run_alone_keeps_its_records_in_its_hand_off_folder(tmp_path, run_cli):
    notebook = write_project(tmp_path)
    folders = {}
    for step in ("prepare", "train", "evaluate"):
        folders[step] = tmp_path / "handoff" / step
        inputs = [arg for earlier in folders if earlier != step
                  for arg in ("--input", f"{earlier}={folders[earlier]}")]
        result = run_cli("pipeline", "step", notebook, "--step", step, *inputs,
                         "--output", folders[step], cwd=tmp_path)
        assert result.exit_code == 0, result.output
    written = json.loads((folders["evaluate"] / "result.json").read_text())
    assert written["records"]["rows"] == 4
    assert written["files"] == ["model.pkl"]


def test_a_function_step_says_which_parameters_it_took_at_their_defaults(tmp_path, run_cli):
    """No executed notebook to read the defaults from: the step's receipt names them, so
    runs show says "default" for those and "given" for the -p ones."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "twoparams"\n')
    notebook = write_notebook(
        tmp_path / "flow.ipynb",
        {"source": "n: int = 3\nscale: float = 1.5", "tags": ["parameters"]},
        {"source": "total = n * scale", "tags": ["step:compute"]},
    )
    result = run_cli("pipeline", "run", notebook, "--max-parallel", "1", "-p", "n", "5",
                     "--output-format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    [step] = json.loads(result.stdout)["steps"]
    shown = run_cli("runs", "show", step["run_id"], cwd=tmp_path).output.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in shown
            if line.split() and line.split()[0] in ("n", "scale")}
    assert rows == {"n": ["5", "-", "given"], "scale": ["1.5", "-", "default"]}
