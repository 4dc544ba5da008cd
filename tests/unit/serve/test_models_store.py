"""Models in the run store: safe serialisation, the registry, aliases and the CLI."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from nbprod.errors import StoreError
from nbprod.run.models import collect_models, record_model
from nbprod.serve import registry
from nbprod.store import Store
from nbprod.store.hashing import hash_bytes
from nbprod.store.model_bytes import dump_model, load_model

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
Y = [0, 0, 1, 1]


def _fit(c: float = 1.0):
    return LogisticRegression(C=c).fit(X, Y)


def test_scikit_learn_goes_through_skops_and_the_hash_is_checked():
    data, info = dump_model(_fit())
    assert info["format"] == "skops"
    entry = {"name": "m", "hash": hash_bytes(data), **info}
    assert list(load_model(data, entry).predict(X)) == Y
    with pytest.raises(StoreError, match="refusing to load it"):
        load_model(data + b" ", entry)


def test_other_objects_go_through_joblib():
    data, info = dump_model({"weights": [1, 2]})
    assert info["format"] == "joblib"
    assert load_model(data, {"hash": hash_bytes(data), **info}) == {"weights": [1, 2]}


def _record_run(store: Store, monkeypatch, c: float, name: str = "m") -> str:
    handle = store.begin_run("nb.ipynb", "blake3:" + "0" * 64, {"c": c})
    monkeypatch.setenv("NBPROD_RECORDS_FILE", str(handle.run_dir / "records.jsonl"))
    record_model(name, _fit(c), training_data=X)
    models = collect_models(handle.run_dir, store)
    assert not (handle.run_dir / "models" / name).exists()  # moved into the store
    store.finish_run(handle.run_id, {"status": "succeeded", "models": models,
                                     "records": {"accuracy": c},
                                     "objects": [m["hash"] for m in models]})
    return handle.run_id


def test_record_alias_resolve_and_load(tmp_path, monkeypatch):
    store = Store.open(tmp_path)
    first = _record_run(store, monkeypatch, 1.0)
    second = _record_run(store, monkeypatch, 0.1)
    assert registry.resolve(store, "m").run_id == second  # the newest
    registry.set_alias(store, "m@champion", first)
    ref = registry.resolve(store, "m@champion")
    assert ref.run_id == first
    assert ref.entry["profile"]["columns"][0]["name"] == "a"
    assert list(registry.load(store, ref).predict(X)) == Y
    assert json.loads((store.path / "aliases.json").read_text())["aliases"] == {
        "m@champion": first}
    with pytest.raises(StoreError, match="no alias 'm@prod'"):
        registry.resolve(store, "m@prod")
    with pytest.raises(StoreError, match="give one of them"):
        registry.resolve(store, "m@champion", second)  # an alias and another run
    assert registry.resolve(store, "m", first).run_id == first  # a name within a run
    with pytest.raises(StoreError, match="not an alias"):
        registry.set_alias(store, "m@", first)
    with pytest.raises(StoreError, match="recorded no model 'other'"):
        registry.set_alias(store, "other@x", first)


def test_a_swapped_object_is_never_loaded(tmp_path, monkeypatch):
    store = Store.open(tmp_path)
    run_id = _record_run(store, monkeypatch, 1.0)
    ref = registry.resolve(store, None, run_id)
    path = store.objects.path_for(ref.entry["hash"])
    os.chmod(path, 0o644)
    path.write_bytes(dump_model({"not": "the model"})[0])
    with pytest.raises(StoreError, match="the store was altered"):
        registry.load(store, ref)


def test_outside_a_run_record_model_only_warns(monkeypatch):
    monkeypatch.delenv("NBPROD_RECORDS_FILE", raising=False)
    monkeypatch.setattr("nbprod.run.models._warned", False)
    with pytest.warns(UserWarning, match="not inside an nbprod run"):
        record_model("m", _fit(), training_data=X)
    with pytest.raises(ValueError, match="is not a model name"):
        record_model("m@x", _fit())


def test_models_cli(tmp_path, monkeypatch, run_cli):
    store = Store.open(tmp_path)
    first = _record_run(store, monkeypatch, 1.0)
    second = _record_run(store, monkeypatch, 0.1)
    store.close()
    monkeypatch.chdir(tmp_path)
    assert run_cli("models", "alias", "m@champion", first).exit_code == 0
    listed = json.loads(run_cli("models", "list", "--output-format", "json").output)
    assert [(m["run_id"], m["aliases"]) for m in listed] == [(second, []),
                                                               (first, ["m@champion"])]
    text = run_cli("models", "list").output
    assert "m@champion" in text and "accuracy=0.1" in text
    shown = run_cli("models", "show", "m@champion").output
    assert first in shown and "training data: 4 rows" in shown
    # runs show lists the models a run recorded, as models show names them.
    row = run_cli("runs", "show", first).output.split("models\n", 1)[1].splitlines()[1].split()
    assert row[:3] == ["m", "LogisticRegression", "skops"] and row[4:] == ["4", "rows"]
    assert len(row[3]) == 12 and int(row[3], 16) >= 0
    by_run = run_cli("models", "show", "--run", first)
    assert by_run.exit_code == 0 and by_run.output == shown
    assert run_cli("models", "show").exit_code == 2
    diff = json.loads(run_cli("models", "diff", "m@champion", second,
                              "--output-format", "json").output)
    assert diff["same"] is False
    assert diff["parameters"]["changed"] == {"c": {"a": 1.0, "b": 0.1}}
    assert diff["metrics"]["changed"] == {"accuracy": {"a": 1.0, "b": 0.1}}
    assert diff["training_data"] == {"added": [], "removed": [], "changed": {}}
    assert "parameters c: 1 -> 0.1" in run_cli("models", "diff", "m@champion", "m").output
    assert run_cli("models", "alias", "m@champion", "--delete").exit_code == 0
    assert json.loads(run_cli("models", "list", "--output-format", "json").output)[1][
        "aliases"] == []
    unknown = run_cli("models", "list", "--name", "nope")
    assert unknown.exit_code == 0
    assert "No model is named 'nope'; 'nbprod models list' without --name" in unknown.output


def test_models_list_names_the_store_nbprod_run_used(tmp_path, monkeypatch, run_cli):
    """From a folder without a store, beside a project that has one, the list is not
    simply empty: the store is named, as runs list does."""
    project = tmp_path / "proj"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    Store.open(project).close()
    monkeypatch.chdir(project / "notebooks")
    (project / "notebooks" / "pyproject.toml").write_text("[project]\nname = 'inner'\n")
    result = run_cli("models", "list")
    assert result.exit_code == 2
    assert "but there is one at ../.nbprod" in result.output


def test_one_fit_stored_twice_is_the_same_model(tmp_path, monkeypatch, run_cli):
    """A random forest's stored bytes differ from one save to the next (tree nodes keep
    uninitialised padding, skops writes object ids): the diff compares what was fitted."""
    from sklearn.ensemble import RandomForestClassifier

    store = Store.open(tmp_path)
    runs = []
    for seed in (0, 0, 1):
        handle = store.begin_run("nb.ipynb", "blake3:" + "0" * 64, {"seed": seed})
        monkeypatch.setenv("NBPROD_RECORDS_FILE", str(handle.run_dir / "records.jsonl"))
        forest = RandomForestClassifier(n_estimators=5, random_state=seed).fit(X, Y)
        record_model("forest", forest, training_data=X)
        models = collect_models(handle.run_dir, store)
        store.finish_run(handle.run_id, {"status": "succeeded", "models": models,
                                         "objects": [m["hash"] for m in models]})
        runs.append(handle.run_id)
    store.close()
    monkeypatch.chdir(tmp_path)
    same = json.loads(run_cli("models", "diff", runs[0], runs[1], "--output-format",
                              "json").output)
    assert (same["same"], same["same_content"]) == (False, True)
    assert "the same model (the fitted state is equal" in run_cli(
        "models", "diff", runs[0], runs[1]).output
    other = json.loads(run_cli("models", "diff", runs[0], runs[2], "--output-format",
                               "json").output)
    assert (other["same"], other["same_content"]) == (False, False)
