"""The serve routes: a notebook's model service started, asked and stopped through the server.

The example project is exported and run once (a real kernel, a real model in the store); each
test copies it into the server root. The service is the real ``nbprod serve`` (uvicorn on
127.0.0.1) that the server starts; the routes forward to it.
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import socket
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.integration.serve.servehelpers import (
    copy_project,
    latest_run,
    nbprod,
    serve_processes,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("serve")]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NOTEBOOK = "examples/notebooks/train.ipynb"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, str]:
    """The example project, exported and run: its model is in its store."""
    root = copy_project(EXAMPLES, tmp_path_factory.mktemp("served") / "examples")
    nbprod("export", "notebooks/train.ipynb", cwd=root)
    nbprod("run", "notebooks/train.ipynb", cwd=root)
    return root, latest_run(root)


@pytest.fixture
def project(prepared, server_root) -> tuple[Path, str]:
    source, run_id = prepared
    shutil.copytree(source, server_root / "examples", symlinks=True)
    return server_root / "examples", run_id


def _first_record(project: Path) -> dict:
    with open(project / "data" / "wine.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    return {k: float(v) for k, v in row.items() if k != "target"}


def _services_of(project: Path) -> list[psutil.Process]:
    """The live ``nbprod serve`` processes running in ``project``'s notebooks folder."""
    return serve_processes(cwd=project / "notebooks")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_start_status_predict_drift_and_stop(api, project):
    root, run_id = project
    at = {"path": NOTEBOOK}
    status, _, idle = await api("serve", params=at)
    assert status == 200 and idle["running"] is False and idle["port"] is None

    # Two starts at once: the second waits for the first and gets the same service.
    (status, _, started), (_, _, twin) = await asyncio.gather(
        api("serve", method="POST", body=at), api("serve", method="POST", body=at))
    assert status == 200, started
    assert started["running"] and started["model"] == "wine" and started["run_id"] == run_id
    port = started["port"]
    assert twin["port"] == port and _listening(port)
    assert len(_services_of(root)) == 1
    # A later start finds the running service too.
    status, _, again = await api("serve", method="POST", body={**at, "model": "wine"})
    assert status == 200 and again["port"] == port
    status, _, shown = await api("serve", params=at)
    assert shown["running"] and shown["port"] == port

    status, _, meta = await api("serve/metadata", params=at)
    assert status == 200 and meta["run_id"] == run_id
    row = meta["schema"]["$defs"][meta["schema"]["items"]["$ref"].split("/")[-1]]
    assert "alcohol" in row["properties"]

    record = _first_record(root)
    status, _, answer = await api("serve/predict", method="POST", body={**at, "record": record})
    assert status == 200, answer
    assert answer["predictions"] == [0] and answer["run_id"] == run_id

    status, _, refused = await api("serve/predict", method="POST",
                                   body={**at, "record": {**record, "alcohol": "strong"}})
    assert status == 422 and refused["error"] == "InvalidRecord"
    assert refused["message"].startswith("alcohol:")
    assert refused["problems"][0]["field"] == "alcohol"

    status, _, drift = await api("serve/drift", params=at)
    assert status == 200 and drift["rows"] == 1
    assert {f["feature"] for f in drift["features"]} >= {"alcohol", "proline"}
    assert drift["features"][0]["verdict"] == "too few rows"

    (process,) = _services_of(root)
    status, _, stopped = await api("serve", method="DELETE", params=at)
    assert status == 200 and stopped["running"] is False
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    assert not _listening(port)
    status, _, gone = await api("serve/predict", method="POST", body={**at, "record": record})
    assert status == 409 and gone["error"] == "NotRunning"
    status, _, gone = await api("serve/drift", params=at)
    assert status == 409


async def test_a_stop_during_the_start_stops_the_loading_service(api, project):
    root, _run_id = project
    at = {"path": NOTEBOOK}
    start = asyncio.ensure_future(api("serve", method="POST", body=at))
    for _ in range(200):  # until the CLI process exists, long before its model is loaded
        if _services_of(root) or start.done():
            break
        await asyncio.sleep(0.05)
    assert not start.done(), await start
    (process,) = _services_of(root)
    status, _, stopped = await api("serve", method="DELETE", params=at)
    assert status == 200 and stopped["running"] is False
    status, _, refused = await start
    assert status == 409 and refused["error"] == "Stopped", refused
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    status, _, shown = await api("serve", params=at)
    assert shown["running"] is False


async def test_the_cli_error_is_the_answer(api, project):
    root, run_id = project
    # No serve cell: the sample notebook of the server root.
    status, _, body = await api("serve", method="POST", body={"path": "nb/sample.ipynb"})
    assert status == 400 and body["error"] == "NbprodError"
    assert "no cell is tagged serve" in body["message"] and "\n" not in body["message"]
    # An alias nobody set.
    status, _, body = await api("serve", method="POST", body={"path": NOTEBOOK,
                                                              "model": "wine@nobody"})
    assert status == 400 and "nobody" in body["message"], body
    # An export older than the notebook.
    notebook = root / "notebooks" / "train.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[3].source += "\n\n\nSCALE = 1\n"
    nbformat.write(nb, notebook)
    status, _, body = await api("serve", method="POST", body={"path": NOTEBOOK})
    assert status == 400 and "out of date" in body["message"], body
    assert str(root) not in body["message"]
    status, _, idle = await api("serve", params={"path": NOTEBOOK})
    assert idle["running"] is False


async def test_inputs_are_checked_before_anything_starts(api, project):
    for body, expected in (
        ({"path": NOTEBOOK, "model": "wine; rm -rf /"}, 400),
        ({"path": NOTEBOOK, "model": "wine", "run": "x"}, 400),
        ({"path": NOTEBOOK, "run": "../../etc"}, 404),
        ({"path": NOTEBOOK, "port": 22}, 400),
        ({"path": "../outside.ipynb"}, 404),
        ({"path": "examples/.nbprod/x.ipynb"}, 404),
    ):
        status, _, answer = await api("serve", method="POST", body=body)
        assert status == expected, (body, answer)
    status, _, _ = await api("serve/predict", method="POST", body={"path": NOTEBOOK,
                                                                   "record": [1, 2]})
    assert status == 400
    status, _, answer = await api("serve", method="DELETE", params={"path": "../x.ipynb"})
    assert status == 404
    assert not _services_of(project[0])
