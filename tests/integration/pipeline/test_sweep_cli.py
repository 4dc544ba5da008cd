"""`nbprod sweep` on the command line, with real runs: options, typed values, sweep files."""

from __future__ import annotations

import json

import pytest

from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import write_notebook


@pytest.mark.parametrize("quiet", [False, True])
def test_sweep_quiet_turns_progress_off(sweep_project, run_cli, monkeypatch, quiet):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # stderr drawn as on a terminal
    result = run_cli("sweep", sweep_project / "train.ipynb", "-p", "depth", "2,3",
                     "--max-parallel", "1", *(["-q"] if quiet else []))
    assert result.exit_code == 0, result.output
    # One progress line per finished run, unless -q.
    assert ("run-1" in result.stderr) is not quiet, result.stderr
    assert "sweep " in result.stdout
    assert result.stderr.strip().splitlines()[-1].endswith("2 of 2 runs succeeded")
    assert len(open_project_store(sweep_project).list_runs()) == 3


TYPED = ("t: tuple[int, ...] = (1,)\nd: dict[str, int] = {}")
RECORD = ("import nbprod\nnbprod.record('t_type', type(t).__name__)\n"
          "nbprod.record('t_value', list(t))\nnbprod.record('d_value', d)")


def test_sweep_values_that_are_lists_or_mappings_are_not_split(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "typed"\n')
    write_notebook(tmp_path / "nb.ipynb", {"source": TYPED, "tags": ["parameters"]}, RECORD)
    result = run_cli("sweep", tmp_path / "nb.ipynb", "-p", "d", "{a: 1, b: 2}",
                     "-p", "t", "[1, 2], [3]", "--max-parallel", "1", "-q",
                     "--output-format", "json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert [(r["t_type"], r["t_value"], r["d_value"]) for r in runs] == [
        ("tuple", [1, 2], {"a": 1, "b": 2}), ("tuple", [3], {"a": 1, "b": 2})]


def test_sweep_type_errors_name_the_declared_type(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "typed"\n')
    write_notebook(tmp_path / "nb.ipynb", {"source": TYPED, "tags": ["parameters"]}, RECORD)
    bad_map = run_cli("sweep", tmp_path / "nb.ipynb", "-p", "d", "{a: x}")
    assert bad_map.exit_code == 2
    assert "parameter 'd' expects dict[str, int], got '{a: x}'" in bad_map.stderr
    bad_tuple = run_cli("sweep", tmp_path / "nb.ipynb", "-p", "t", "[a]")
    assert bad_tuple.exit_code == 2
    assert "parameter 't' expects tuple[int, ...], got '[a]'" in bad_tuple.stderr
    assert not (tmp_path / ".nbprod").exists()  # nothing written


def test_run_injects_a_tuple_parameter_as_a_tuple(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "typed"\n')
    write_notebook(tmp_path / "nb.ipynb", {"source": TYPED, "tags": ["parameters"]}, RECORD)
    (tmp_path / "params.yaml").write_text("t: [4, 5]\n")
    for source in (["-p", "t", "[4, 5]"], ["-f", tmp_path / "params.yaml"]):
        result = run_cli("run", tmp_path / "nb.ipynb", *source, "-q", "--output-format", "json")
        assert result.exit_code == 0, result.output
        receipt = json.loads(result.stdout)
        assert receipt["records"]["t_type"] == "tuple", source
        output = (tmp_path / receipt["run_dir"] / "output.ipynb").read_text()
        assert "t = (4, 5)" in output


@pytest.mark.parametrize("text, message", [
    ("mode: zipp\n", "'mode' must be 'grid' or 'zip', got 'zipp' (did you mean 'zip'?)"),
    ("max-paralel: 1\n", "unknown key 'max-paralel' (did you mean 'max-parallel'?)"),
])
def test_a_sweep_file_error_names_the_sweep_file(sweep_project, run_cli, text, message):
    (sweep_project / "sweep.yaml").write_text("parameters:\n  depth: [2, 3]\n" + text)
    result = run_cli("sweep", sweep_project / "train.ipynb", "-f", sweep_project / "sweep.yaml")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {sweep_project / 'sweep.yaml'}: "), line
    assert message in line and "pyproject" not in line
    assert not (sweep_project / ".nbprod").exists()


def test_the_sweep_table_error_names_pyproject(sweep_project, run_cli):
    with (sweep_project / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.nbprod.sweep]\nmode = "zipp"\n')
    result = run_cli("sweep", sweep_project / "train.ipynb", "-p", "depth", "2", "--zip")
    assert result.exit_code == 2
    assert "pyproject.toml [tool.nbprod.sweep]: mode must be 'grid' or 'zip'" in result.stderr


def test_a_sweep_with_a_secret_is_not_exported_to_a_dag_file(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "tok"\n')
    write_notebook(tmp_path / "tok.ipynb",
                   {"source": 'api_token: str = ""\nk: int = 1', "tags": ["parameters"]},
                   "n = len(api_token) + k")
    dag = tmp_path / "dag.py"
    result = run_cli("sweep", tmp_path / "tok.ipynb", "-p", "api_token", "ghsecretAAA1",
                     "-p", "k", "1,2", "--export", "airflow", "-o", dag)
    assert result.exit_code == 2, result.output
    assert "parameter 'api_token' holds a secret" in result.output
    assert "ghsecretAAA1" not in result.output and not dag.exists()
