"""``nbprod runs ...`` and ``nbprod store verify``: text, JSON and exit codes."""

from __future__ import annotations

import json

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.store import Store

NB_HASH = "blake3:" + "1" * 64


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with two finished runs of one notebook and one of another."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    store = Store.open(tmp_path)
    ids = []
    for i, (notebook, status) in enumerate(
            [("nb/train.ipynb", "succeeded"), ("nb/train.ipynb", "failed"),
             ("nb/other.ipynb", "succeeded")]):
        run = store.begin_run(notebook, NB_HASH, {"lr": 0.1 * (i + 1)},
                              kind="reproduce" if i == 2 else "run",
                              parent=ids[0] if i == 2 else None)
        digest = store.put_bytes(f"out {i}".encode())
        nbformat.write(make_notebook({"source": "print(1)", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": f"{i}\n"}]}),
            run.run_dir / "output.ipynb")
        store.finish_run(run.run_id, {
            "status": status,
            "environment": {"python": "3.11", "packages": {"pandas": f"2.{i}"}},
            "records": {"accuracy": 0.9 + i / 100},
            "data": [{"path": "out.txt", "role": "output", "hash": digest, "bytes": 5,
                      "stored": True}],
            "error": {"cell": 1, "cell_id": "c1", "ename": "ValueError", "evalue": "boom"}
            if status == "failed" else None,
        })
        ids.append(run.run_id)
    store.close()
    monkeypatch.chdir(tmp_path)
    return tmp_path, ids


def test_list_text_and_json(run_cli, project):
    root, ids = project
    result = run_cli("runs", "list", cwd=root)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["RUN", "ID", "STATUS", "KIND"]
    assert [line.split()[:3] for line in lines[1:]] == [
        [ids[2], "succeeded", "reproduce"], [ids[1], "failed", "run"],
        [ids[0], "succeeded", "run"]]
    result = run_cli("runs", "list", "--notebook", "train.ipynb", "--status", "failed",
                     "--output-format", "json")
    runs = json.loads(result.output)
    assert [r["run_id"] for r in runs] == [ids[1]]
    assert runs[0]["error"]["ename"] == "ValueError"
    assert len(json.loads(run_cli("runs", "list", "--limit", "1", "--output-format",
                                  "json").output)) == 1
    children = json.loads(run_cli("runs", "list", "--parent", ids[0], "--output-format",
                                  "json").output)
    assert [(r["run_id"], r["kind"]) for r in children] == [(ids[2], "reproduce")]


def test_a_piped_list_keeps_each_run_on_one_line(run_cli, tmp_path):
    """grep and awk read one run per line: a long path or value is not folded when piped."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    store = Store.open(tmp_path)
    notebook = "notebooks/" + "a_rather_long_folder_name/" * 3 + "train.ipynb"
    run = store.begin_run(notebook, NB_HASH, {"columns": [f"feature_{i}" for i in range(9)]})
    store.finish_run(run.run_id, {"status": "succeeded"})
    store.close()
    lines = run_cli("runs", "list", cwd=tmp_path).output.splitlines()
    assert len(lines) == 2
    assert lines[1].split()[:4] == [run.run_id, "succeeded", "run", notebook]
    assert 'columns=["feature_0", "feature_1",' in lines[1]


def test_list_without_a_store_is_empty(run_cli, tmp_path):
    result = run_cli("runs", "list", "--output-format", "json", cwd=tmp_path)
    assert result.exit_code == 0 and json.loads(result.output) == []
    assert not (tmp_path / ".nbprod").exists()


def test_bad_usage_exits_2(run_cli, project):
    assert run_cli("runs", "list", "--status", "bogus").exit_code == 2
    assert run_cli("runs", "list", "--limit", "0").exit_code == 2
    assert run_cli("runs", "show").exit_code == 2
    result = run_cli("runs", "show", "20000101")
    assert result.exit_code == 2
    assert "error: no run '20000101'" in result.output and "Traceback" not in result.output


def test_show_names_a_failed_cell_without_an_id(run_cli, tmp_path):
    # nbformat 4.4 and older notebooks have no cell ids: no "(None)" in its place.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'old'\n")
    store = Store.open(tmp_path)
    run = store.begin_run("old.ipynb", NB_HASH, {})
    store.finish_run(run.run_id, {"status": "failed", "error": {
        "cell": 72, "cell_id": None, "ename": "TypeError", "evalue": "immutable"}})
    store.close()
    output = run_cli("runs", "show", run.run_id.split("-")[1], cwd=tmp_path).output
    assert "error: cell 72: TypeError: immutable" in output and "None" not in output


def test_diff_names_changed_cells_without_ids(run_cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'old'\n")
    store = Store.open(tmp_path)
    ids = []
    for text in ("1\n", "2\n"):
        run = store.begin_run("old.ipynb", NB_HASH, {})
        nb = make_notebook({"source": "print(n)", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": text}]})
        nb.nbformat_minor = 4  # before cell ids
        for cell in nb.cells:
            del cell["id"]
        nbformat.write(nb, run.run_dir / "output.ipynb")
        store.finish_run(run.run_id, {"status": "succeeded"})
        ids.append(run.run_id)
    store.close()
    output = run_cli("runs", "diff", *ids, cwd=tmp_path).output
    assert "  changed: cell 1\n" in output + "\n" and "None" not in output


def test_show(run_cli, project):
    _, ids = project
    result = run_cli("runs", "show", ids[1][:-1])
    assert result.exit_code == 0
    assert ids[1] in result.output
    assert "error: cell 1 (id 'c1'): ValueError: boom" in result.output
    assert "nb/train.ipynb" in result.output
    assert "accuracy  0.91" in result.output
    receipt = json.loads(run_cli("runs", "show", ids[1], "--output-format", "json").output)
    assert receipt["status"] == "failed" and receipt["parameters"] == {"lr": 0.2}


def test_diff(run_cli, project):
    _, ids = project
    result = run_cli("runs", "diff", ids[0], ids[1])
    assert result.exit_code == 0
    assert "~ status: succeeded -> failed" in result.output
    assert "~ lr: 0.1 -> 0.2" in result.output
    assert "~ accuracy: 0.9 -> 0.91" in result.output
    assert '~ pandas: "2.0" -> "2.1"' in result.output
    assert "changed: cell 1 (c1)" in result.output
    data = json.loads(run_cli("runs", "diff", ids[0], ids[1], "--output-format", "json").output)
    assert data["outputs"]["cells"][0]["b"] == [{"stream": "stdout", "text": "1\n"}]
    same = run_cli("runs", "diff", ids[0], ids[0])
    assert "identical" in same.output


def test_path(run_cli, project):
    root, ids = project
    result = run_cli("runs", "path", ids[2])
    assert result.output.strip() == str(root / ".nbprod" / "runs" / ids[2])
    data = json.loads(run_cli("runs", "path", ids[2], "--output-format", "json").output)
    assert data["output"].endswith("output.ipynb")


def test_store_option_points_elsewhere(run_cli, project, tmp_path_factory):
    root, ids = project
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = run_cli("runs", "list", "--store", root / ".nbprod", "--output-format", "json",
                     cwd=elsewhere)
    assert len(json.loads(result.output)) == 3
    result = run_cli("store", "verify", "--store", elsewhere / "nothing")
    assert result.exit_code == 2 and "no run store" in result.output


def test_verify_exit_codes_and_json(run_cli, project):
    root, ids = project
    result = run_cli("store", "verify")
    assert result.exit_code == 0 and "The store is sound." in result.output
    stray = root / ".nbprod" / "objects" / ".nbprod-tmp-999999999-x"
    stray.write_bytes(b"x")
    result = run_cli("store", "verify", "--output-format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["temp_files"] == [str(stray)] and report["ok"] is False
    result = run_cli("store", "verify", "--repair")
    assert result.exit_code == 0 and "removed temp file" in result.output
    assert not stray.exists()
    assert run_cli("store", "verify", "--rehash", "--bogus").exit_code == 2


def test_show_lists_every_value_the_run_used_with_defaults_marked(run_cli, tmp_path,
                                                                   monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    store = Store.open(tmp_path)
    run = store.begin_run("nb.ipynb", NB_HASH, {"lr": 0.1})
    nbformat.write(make_notebook(
        {"source": "lr: float = 0.5  # learning rate\nepochs: int = 3\napi_token = 'abc'\n"
                   "start = date(2024, 1, 1)\nnothing = None",
         "tags": ["parameters"]},
        {"source": "lr = 0.1", "tags": ["injected-parameters"]}), run.run_dir / "output.ipynb")
    store.finish_run(run.run_id, {"status": "succeeded"})
    store.close()
    monkeypatch.chdir(tmp_path)
    result = run_cli("runs", "show", run.run_id)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()
            if line.split() and line.split()[0] in ("lr", "epochs", "api_token", "start",
                                                    "nothing")}
    assert rows["lr"] == ["0.1", "float", "given"]
    assert rows["epochs"] == ["3", "int", "default"]
    assert rows["api_token"][0] == '"***"'  # a secret's default is not shown
    # A default that is not JSON data is its expression, not a null hiding it.
    assert rows["start"][:4] == ["date(2024,", "1,", "1)", "-"]
    assert rows["nothing"][0] == "null"


def test_show_and_diff_explain_a_package_that_is_not_reproducible(run_cli, project):
    root, ids = project
    store = Store.open(root)
    runs = []
    for lr in (0.1, 0.2):
        run = store.begin_run("nb/train.ipynb", NB_HASH, {"lr": lr})
        store.finish_run(run.run_id, {"status": "succeeded", "environment": {
            "python": "3.11", "packages": {"mylib": "1.0"}, "not_reproducible": ["mylib"]}})
        runs.append(run.run_id)
    store.close()
    shown = run_cli("runs", "show", runs[0]).output
    assert "not reproducible  mylib (installed from a local folder or in editable mode" in shown
    diff = run_cli("runs", "diff", *runs).output
    assert "not reproducible\n  ! mylib (installed from a local folder" in diff


def test_diff_of_long_recorded_lists_says_where_they_differ():
    """Recorded predictions would fill the line twice; the text says how many differ and
    where (the JSON output keeps both lists whole)."""
    from nbprod.cli.runs import _mapping_lines

    before = [0, 1, 2] * 15
    after = list(before)
    after[27], after[40] = 2, 0
    lines = _mapping_lines("records", {"added": {}, "removed": {}, "changed": {
        "test_predictions": {"a": before, "b": after}, "short": {"a": [1, 2], "b": [1, 3]}}})
    assert lines == ["records",
                     "  ~ test_predictions: 45 values, 2 differ (at 27: 0 -> 2, at 40: 1 -> 0)",
                     "  ~ short: [1, 2] -> [1, 3]"]
