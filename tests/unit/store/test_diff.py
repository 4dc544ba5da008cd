"""Receipt diffs: parameters, packages, git, data hashes and drift, outputs cell by cell."""

from __future__ import annotations

import copy

import nbformat
from notebook_builder import make_notebook

from nbprod.store.diff import diff_mappings, diff_receipts, normalize_outputs


def _receipt(run_id: str) -> dict:
    return {
        "run_id": run_id,
        "status": "succeeded",
        "notebook": {"path": "nb.ipynb", "hash": "blake3:" + "a" * 64},
        "parameters": {"lr": 0.1, "epochs": 3},
        "environment": {
            "python": "3.11.7", "platform": "Linux",
            "packages": {"pandas": "2.2.2", "numpy": "2.0.0"},
            "git": {"commit": "c1", "dirty": False, "diff_hash": None},
            "lockfiles": {}, "not_reproducible": [],
        },
        "data": [
            {"path": "in.csv", "role": "input", "hash": "blake3:" + "1" * 64, "bytes": 10,
             "profile": {"format": "csv", "rows": 3, "columns": [
                 {"name": "a", "dtype": "int", "nulls": 0, "mean": 2.0},
                 {"name": "b", "dtype": "str", "nulls": 0}]}},
            {"path": "out.csv", "role": "output", "hash": "blake3:" + "2" * 64, "bytes": 5},
        ],
    }


def test_identical_receipts():
    result = diff_receipts(_receipt("A"), _receipt("B"))
    assert result["identical"] is True
    assert result["a"] == "A" and result["b"] == "B"
    assert result["data"]["unchanged"] == 2 and result["outputs"] is None


def test_every_section_reports_its_changes():
    a, b = _receipt("A"), _receipt("B")
    b["parameters"] = {"lr": 0.2, "seed": 7}
    a["records"], b["records"] = {"accuracy": 0.91}, {"accuracy": 0.93, "loss": 0.2}
    b["environment"]["packages"] = {"pandas": "2.2.3", "scipy": "1.14"}
    b["environment"]["git"] = {"commit": "c2", "dirty": True, "diff_hash": "blake3:" + "f" * 64}
    b["environment"]["python"] = "3.12.1"
    b["data"][0] = copy.deepcopy(a["data"][0])
    b["data"][0].update(hash="blake3:" + "3" * 64, bytes=12)
    b["data"][0]["profile"] = {"format": "csv", "rows": 4, "columns": [
        {"name": "a", "dtype": "float", "nulls": 1, "mean": 2.5},
        {"name": "c", "dtype": "str", "nulls": 0}]}
    b["data"][1] = {"path": "new.csv", "role": "output", "hash": "blake3:" + "4" * 64}
    result = diff_receipts(a, b)
    assert result["identical"] is False
    assert result["parameters"] == {"added": {"seed": 7}, "removed": {"epochs": 3},
                                    "changed": {"lr": {"a": 0.1, "b": 0.2}}}
    assert result["records"] == {"added": {"loss": 0.2}, "removed": {},
                                 "changed": {"accuracy": {"a": 0.91, "b": 0.93}}}
    env = result["environment"]
    assert env["packages"]["changed"] == {"pandas": {"a": "2.2.2", "b": "2.2.3"}}
    assert env["packages"]["removed"] == {"numpy": "2.0.0"}
    assert env["packages"]["added"] == {"scipy": "1.14"}
    assert env["git"]["commit"] == {"a": "c1", "b": "c2"} and env["git"]["dirty"]["b"] is True
    assert env["system"]["python"] == {"a": "3.11.7", "b": "3.12.1"}
    data = result["data"]
    assert [e["path"] for e in data["added"]] == ["new.csv"]
    assert [e["path"] for e in data["removed"]] == ["out.csv"]
    [changed] = data["changed"]
    assert changed["hash"]["b"] == "blake3:" + "3" * 64 and changed["bytes"] == {"a": 10, "b": 12}
    profile = changed["profile"]
    assert profile["records"] == {"a": 3, "b": 4}
    assert profile["columns_added"] == ["c"] and profile["columns_removed"] == ["b"]
    assert profile["dtypes"] == {"a": {"a": "int", "b": "float"}}
    assert profile["stats"]["a"] == {"mean": {"a": 2.0, "b": 2.5}, "nulls": {"a": 0, "b": 1}}


def test_status_and_notebook_changes():
    a, b = _receipt("A"), _receipt("B")
    b["status"] = "failed"
    b["notebook"]["hash"] = "blake3:" + "b" * 64
    result = diff_receipts(a, b)
    assert result["status"] == {"a": "succeeded", "b": "failed"}
    assert set(result["notebook"]) == {"hash"}


def test_mapping_diff_handles_missing_sides():
    assert diff_mappings(None, {"x": 1}) == {"added": {"x": 1}, "removed": {}, "changed": {}}


def _write(folder, *cells):
    folder.mkdir()
    nbformat.write(make_notebook(*cells), folder / "output.ipynb")
    return folder


def test_outputs_compared_cell_by_cell(tmp_path):
    out = {"output_type": "stream", "name": "stdout", "text": "1\n"}
    png = {"output_type": "display_data", "data": {"image/png": "iVBORw0K", "text/plain": "fig"},
           "metadata": {}}
    dir_a = _write(tmp_path / "a",
                   {"source": "print(1)", "outputs": [out], "execution_count": 1},
                   {"source": "plot()", "outputs": [png], "execution_count": 2},
                   {"source": "# notes", "cell_type": "markdown"},
                   {"source": "x", "id": "gone", "outputs": []})
    changed = dict(out, text="2\n")
    dir_b = _write(tmp_path / "b",
                   {"source": "print(1)", "outputs": [changed], "execution_count": 5},
                   {"source": "plot()", "outputs": [png], "execution_count": 6},
                   {"source": "# notes", "cell_type": "markdown"},
                   {"source": "y", "id": "new", "outputs": []})
    result = diff_receipts(_receipt("A"), _receipt("B"), dir_a, dir_b)["outputs"]
    assert result["available"] is True and result["same"] == 1
    by_id = {c["cell_id"]: c for c in result["cells"]}
    assert by_id["c1"]["change"] == "changed" and by_id["c1"]["cell"] == 1
    assert by_id["c1"]["b"] == [{"stream": "stdout", "text": "2\n"}]
    assert by_id["new"]["change"] == "added" and by_id["gone"]["change"] == "removed"
    missing = diff_receipts(_receipt("A"), _receipt("B"), dir_a, tmp_path / "none")["outputs"]
    assert missing["available"] is False and missing["missing"]


def test_normalize_outputs_drops_counts_and_hashes_images():
    outputs = [
        {"output_type": "execute_result", "execution_count": 9, "metadata": {"x": 1},
         "data": {"text/plain": ["a", "b"], "image/png": "AAAA"}},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["..."]},
    ]
    normalized = normalize_outputs(outputs)
    assert normalized[0]["data"]["text/plain"] == "ab"
    assert normalized[0]["data"]["image/png"].startswith("blake3:")
    assert normalized[1] == {"error": "ValueError", "evalue": "bad"}
