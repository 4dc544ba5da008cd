"""Secret parameters of sweeps and pipelines reach their kernels and steps, never the run store
or the terminal: the store index, every receipt and every table show them as ``***``."""

from __future__ import annotations

import json

import pytest

from nbprod.store import open_project_store
from tests.integration.pipeline.conftest import write_notebook

TOKENS = ("ghsecretAAA1", "ghsecretBBB2")
URL_PASSWORD = "pw-Hidden77"  # in a parameter whose name says nothing, whose value does
DB_URL = f"postgresql://ana:{URL_PASSWORD}@db/sales"
PASSWORD = "hunter2pw"
API_KEY = "k3y-abcdef"


def _everything_stored(root) -> bytes:
    """Every byte under the store: receipts, outputs, the SQLite database, WAL and objects."""
    return b"".join(p.read_bytes() for p in sorted((root / ".nbprod").rglob("*")) if p.is_file())


def _leaked(text: str | bytes, values) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [value for value in values if value.encode() in data]


@pytest.mark.parametrize("fmt", ["text", "csv", "json"])
def test_sweep_never_stores_or_prints_secret_parameters(tmp_path, run_cli, fmt):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"tok\"\n")
    notebook = write_notebook(
        tmp_path / "tok.ipynb",
        {"source": "api_token: str = \"\"\ndb_url: str = \"sqlite://\"", "tags": ["parameters"]},
        # The kernel gets the real values: a run given *** would fail here.
        f"assert api_token.startswith('ghsecret') and len(db_url) == {len(DB_URL)}\n"
        "print(len(api_token))",
        "if api_token.endswith('2'):\n    raise ValueError('refused')",
    )
    result = run_cli("sweep", notebook, "-p", "api_token", ",".join(TOKENS), "-p", "db_url",
                     DB_URL, "--max-parallel", "1", "--output-format", fmt, cwd=tmp_path)
    secrets = (*TOKENS, URL_PASSWORD)
    assert result.exit_code == 1, result.output
    assert "1 of 2 runs succeeded" in result.stderr  # the first token really reached it
    assert "refused" in result.stderr
    assert _leaked(result.stdout, secrets) == [] and _leaked(result.stderr, secrets) == []
    assert "run 2 api_token='***' db_url='***': failed" in result.stderr
    if fmt == "csv":
        lines = result.stdout.splitlines()
        assert lines[0] == "run,api_token,db_url,status,run_id,error"
        assert lines[1].startswith("1,***,***,succeeded,")
    elif fmt == "json":
        runs = json.loads(result.stdout)["runs"]
        assert [(r["api_token"], r["db_url"]) for r in runs] == [("***", "***")] * 2
    else:
        assert "***" in result.stdout

    assert _leaked(_everything_stored(tmp_path), secrets) == []
    store = open_project_store(tmp_path)
    (sweep,) = store.list_runs(kind="sweep")
    receipt = store.get_run(sweep["run_id"])
    assert receipt["parameters"]["points"] == [{"api_token": "***", "db_url": "***"}] * 2
    assert [r["parameters"] for r in receipt["sweep"]["runs"]] == [
        {"api_token": "***", "db_url": "***"}] * 2
    for child in receipt["sweep"]["runs"]:
        assert store.get_run(child["run_id"])["parameters"] == {"api_token": "***",
                                                                "db_url": "***"}
    listing = run_cli("runs", "list", "--kind", "sweep", "--output-format", "json", cwd=tmp_path)
    assert listing.exit_code == 0 and _leaked(listing.output, secrets) == []
    assert run_cli("store", "verify", cwd=tmp_path).exit_code == 0


def test_pipeline_of_step_cells_never_stores_a_secret_parameter(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"flow\"\n")
    notebook = write_notebook(
        tmp_path / "flow.ipynb",
        {"source": "password: str = \"\"\nk: int = 1", "tags": ["parameters"]},
        # The step really receives the secret: with *** it would fail.
        {"source": "assert len(password) == 9\ny = k", "tags": ["step:one"]},
        {"source": "print(y)", "tags": ["step:two"]},
    )
    for fmt in ("json", "text"):
        result = run_cli("pipeline", "run", notebook, "-p", "password", PASSWORD, "-p", "k",
                         "3", "--force", "--max-parallel", "1", "--output-format", fmt,
                         cwd=tmp_path)
        assert result.exit_code == 0, result.output
        assert _leaked(result.output, [PASSWORD]) == []
    assert _leaked(_everything_stored(tmp_path), [PASSWORD]) == []
    store = open_project_store(tmp_path)
    for run in store.list_runs(kind="pipeline"):
        receipt = store.get_run(run["run_id"])
        assert receipt["parameters"] == {"password": "***", "k": 3}
        one = store.get_run(receipt["pipeline"]["steps"]["one"]["run_id"])
        assert one["parameters"] == {"password": "***", "k": 3}
    assert run_cli("store", "verify", cwd=tmp_path).exit_code == 0


def test_pipeline_notebook_steps_never_store_a_secret_parameter(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = \"nbsteps\"\n\n[tool.nbprod.pipeline]\nname = \"nbsteps\"\n\n"
        "[[tool.nbprod.pipeline.steps]]\nname = \"fetch\"\nnotebook = \"fetch.ipynb\"\n"
        "outputs = [\"fetched.txt\"]\n")
    write_notebook(
        tmp_path / "fetch.ipynb",
        {"source": "api_key: str = \"\"\nrows: int = 2", "tags": ["parameters"]},
        "assert len(api_key) == 10\nopen('fetched.txt', 'w').write(str(rows))",
    )
    result = run_cli("pipeline", "run", "-p", "api_key", API_KEY, "--max-parallel", "1",
                     "--output-format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert _leaked(result.output, [API_KEY]) == []
    assert _leaked(_everything_stored(tmp_path), [API_KEY]) == []
    store = open_project_store(tmp_path)
    (pipeline,) = store.list_runs(kind="pipeline")
    receipt = store.get_run(pipeline["run_id"])
    assert receipt["parameters"]["api_key"] == "***"
    step = store.get_run(receipt["pipeline"]["steps"]["fetch"]["run_id"])
    assert step["parameters"]["api_key"] == "***" and step["status"] == "succeeded"


def test_a_step_error_quoting_a_secret_parameter_is_masked(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"flow\"\n")
    notebook = write_notebook(
        tmp_path / "flow.ipynb",
        {"source": "password: str = \"\"", "tags": ["parameters"]},
        {"source": "print('using', password)\nraise ValueError('cannot log in with ' + password)",
         "tags": ["step:login"]},
    )
    for fmt in ("json", "text"):
        result = run_cli("pipeline", "run", notebook, "-p", "password", PASSWORD, "--force",
                         "--max-parallel", "1", "--output-format", fmt, cwd=tmp_path)
        assert result.exit_code == 1, result.output
        assert "cannot log in with ***" in result.output
        assert _leaked(result.output, [PASSWORD]) == []
    assert _leaked(_everything_stored(tmp_path), [PASSWORD]) == []
    assert run_cli("store", "verify", cwd=tmp_path).exit_code == 0
