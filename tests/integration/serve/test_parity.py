"""Training/serving parity on the example project: what the service answers over HTTP for
every test row is exactly what the notebook run predicted and recorded, and the service runs
the exported module's preprocessing (changing that module changes the answers)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.serve.servehelpers import NBPROD, copy_project, latest_run, nbprod, serving

pytestmark = pytest.mark.xdist_group("serve")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NOTEBOOK = "notebooks/train.ipynb"
#: The values of the notebook's parameters cell, which the runs here do not override.
DEFAULTS = {"data_path": "../data/wine.csv", "test_size": 0.25, "n_estimators": 50,
            "max_depth": 4, "seed": 42}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The example project, exported and run once, its model aliased wine@champion."""
    root = copy_project(EXAMPLES, tmp_path_factory.mktemp("serve") / "examples")
    nbprod("export", NOTEBOOK, cwd=root)
    nbprod("run", NOTEBOOK, cwd=root)
    run_id = latest_run(root)
    nbprod("models", "alias", "wine@champion", run_id, cwd=root)
    return root, run_id


def _test_rows(root: Path, receipt: dict) -> list[dict]:
    """The held-out rows of the run, split again by the exported module with its parameters."""
    params = receipt["parameters"]
    code = (
        "import json, wine.train as m\n"
        f"frame = m.load_data('data/wine.csv')\n"
        f"x_train, x_test, y_train, y_test = m.split(frame, {params.get('test_size', 0.25)!r},"
        f" {params.get('seed', 42)!r})\n"
        "print(json.dumps(x_test.to_dict(orient='records')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def _receipt(root: Path, run_id: str) -> dict:
    return json.loads(nbprod("runs", "show", run_id, "--output-format", "json", cwd=root).stdout)


def test_served_predictions_equal_the_recorded_ones(project, tmp_path):
    root, run_id = project
    receipt = _receipt(root, run_id)
    recorded = receipt["records"]["test_predictions"]
    rows = _test_rows(root, receipt)
    assert len(rows) == len(recorded) > 10
    command = [NBPROD, "serve", NOTEBOOK, "--model", "wine@champion", "--port", "{port}"]
    with serving(command, root, tmp_path / "serve.log") as url, httpx.Client() as client:
        batch = client.post(url + "/predict", json={"records": rows})
        assert batch.status_code == 200, batch.text
        assert batch.json()["predictions"] == recorded
        assert batch.json()["run_id"] == run_id
        one_by_one = [client.post(url + "/predict", json=row).json()["predictions"][0]
                      for row in rows]
        assert one_by_one == recorded
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        assert client.post(url + "/predict", json={"columns": columns}).json()[
            "predictions"] == recorded
        meta = client.get(url + "/metadata").json()
    assert meta["run_id"] == run_id
    assert meta["model"]["hash"] == receipt["models"][0]["hash"]
    assert meta["metrics"]["accuracy"] == receipt["records"]["accuracy"]
    assert meta["notebook"]["hash"] == receipt["notebook"]["hash"]
    assert [d["hash"] for d in meta["data"]] == [d["hash"] for d in receipt["data"]]
    assert meta["environment"]["packages"]["scikit-learn"]
    assert meta["service"]["predict"] == "wine.train.predict"
    assert meta["parameters"] == DEFAULTS  # the run gave none: the notebook's defaults


def test_the_service_runs_the_exported_modules_code(project, tmp_path):
    """The service imports wine.train: predict is that module's function, its features() the
    module's own; replacing features() in the module changes every answer."""
    root, run_id = project
    same = subprocess.run(
        [sys.executable, "-c",
         "import wine.train as m, wine.train_service as s\n"
         "assert s.app.state.service.predict is m.predict\n"
         "assert m.predict.__globals__ is vars(m)\n"
         "assert m.predict.__globals__['features'] is m.features\n"],
        cwd=root, capture_output=True, text=True)
    assert same.returncode == 0, same.stderr
    receipt = _receipt(root, run_id)
    recorded = receipt["records"]["test_predictions"]
    rows = _test_rows(root, receipt)
    changed = shutil.copytree(root, tmp_path / "changed")  # the store comes along
    module = changed / "wine" / "train.py"
    text = module.read_text()
    marker = '    out = frame.copy()\n'
    assert marker in text
    module.write_text(text.replace(marker, marker + '    out = out * 0\n'))
    command = [sys.executable, "-m", "uvicorn", "wine.train_service:app", "--host",
               "127.0.0.1", "--port", "{port}"]
    env = {"NBPROD_MODEL": "wine@champion"}
    with serving(command, changed, tmp_path / "uvicorn.log", env) as url:
        answer = httpx.post(url + "/predict", json=rows).json()["predictions"]
    assert answer != recorded
    assert len(set(answer)) == 1  # every row became the same row of zeros


def test_the_packaged_service_runs_from_its_requirements_alone(project, tmp_path):
    """export --to service: regenerating gives the same bytes; a fresh venv holding only the
    pinned requirements.txt (no dependency resolution) serves the same predictions."""
    root, run_id = project
    receipt = _receipt(root, run_id)
    args = ("export", NOTEBOOK, "--to", "service", "--model", "wine@champion")
    nbprod(*args, cwd=root)
    folder = root / "services" / "train"
    first = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert sorted(map(str, first)) == ["Dockerfile", "app.py", "model/manifest.json",
                                       "model/model.bin", "requirements.txt"]
    again = nbprod(*args, cwd=root)
    assert "0 written, 5 unchanged" in again.stderr
    assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()} == first
    docker = (folder / "Dockerfile").read_text()
    assert f"FROM python:{receipt['environment']['python']}-slim" in docker
    assert "USER service" in docker and "HEALTHCHECK" in docker and "/health" in docker
    pins = [line.split("==")[0].split(" @ ")[0]
            for line in (folder / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    packages = receipt["environment"]["packages"]
    assert {"scikit-learn", "pandas", "fastapi", "uvicorn", "skops", "nbprod"} <= set(pins)
    assert not {"jupyterlab", "papermill", "dask", "ipykernel", "pytest"} & set(pins)
    for line in (folder / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if version:
            assert packages[name] == version
    venv = tmp_path / "venv"
    uv = str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True)
    install = subprocess.run(
        [uv, "pip", "install", "-q", "--no-deps", "-r", str(folder / "requirements.txt"),
         "--python", str(venv / "bin" / "python")], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    rows = _test_rows(root, receipt)
    command = [str(venv / "bin" / "python"), "-m", "uvicorn", "services.train.app:app",
               "--host", "127.0.0.1", "--port", "{port}"]
    with serving(command, root, tmp_path / "packaged.log") as url:
        answer = httpx.post(url + "/predict", json={"records": rows})
        meta = httpx.get(url + "/metadata").json()
    assert answer.json()["predictions"] == receipt["records"]["test_predictions"]
    assert meta["run_id"] == run_id and meta["metrics"]["accuracy"] == receipt["records"][
        "accuracy"]
    assert meta["parameters"] == DEFAULTS  # kept in the manifest: no run folder to read
