"""A run the JupyterLab server started ends with the server, however the server ends.

A real ``jupyter server`` in a subprocess starts a slow run through the API and is then
killed with SIGKILL (no cleanup of its own can happen): the run must stop, its kernel too, and
its receipt must say ``interrupted``. A model service it started must stop too.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
import pytest
from notebook_builder import make_notebook

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(base: str, token: str, route: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}/nbprod/{route}", data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _start_server(root: Path) -> tuple[subprocess.Popen, str, str]:
    """A real Jupyter server with nbprod on 127.0.0.1, in its own session, answering already:
    (process, base URL, token)."""
    token, port = secrets.token_hex(16), _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.jpserver_extensions=nbprod=True"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".config")},
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _call(base, token, "")
            return server, base, token
        except OSError:
            if time.monotonic() > deadline:
                if server.poll() is None:
                    os.killpg(server.pid, signal.SIGKILL)
                raise AssertionError("the server did not start") from None
            time.sleep(0.3)


def _nbprod_runs_of(notebook: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "nbprod" in command and " run " in f" {command} " and notebook in command:
            found.append(process)
    return found


def test_a_run_stops_when_its_server_is_killed(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'life'\n")
    (tmp_path / "slow.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "import time\nopen('started', 'w').close()\ntime.sleep(120)"})))
    server, base, token = _start_server(tmp_path)
    try:
        job = _call(base, token, "run", {"path": "slow.ipynb"})
        deadline = time.monotonic() + 90
        while not (tmp_path / "started").exists():  # the kernel is running the notebook
            assert time.monotonic() < deadline, _call(base, token, f"jobs/{job['job_id']}")
            time.sleep(0.3)
        assert _nbprod_runs_of("slow.ipynb")
        os.kill(server.pid, signal.SIGKILL)  # no handler of the server's can run
        server.wait(timeout=30)
        deadline = time.monotonic() + 60
        while _nbprod_runs_of("slow.ipynb"):
            assert time.monotonic() < deadline, "the run outlived its server"
            time.sleep(0.5)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    listed = subprocess.run([sys.executable, "-m", "nbprod", "runs", "list", "--output-format",
                             "json"], cwd=tmp_path, capture_output=True, text=True, check=True,
                            env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(tmp_path)})
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "interrupted"
    # Its kernel went with it: no process is still sleeping in the notebook's cell.
    assert not [p for p in psutil.process_iter(["cmdline"])
                if "ipykernel" in " ".join(p.info["cmdline"] or [])
                and p.info["cmdline"] and str(tmp_path) in " ".join(p.info["cmdline"])]


def test_a_model_service_stops_when_its_server_is_killed(tmp_path):
    from tests.integration.serve.servehelpers import copy_project, nbprod, serve_processes

    examples = Path(__file__).resolve().parents[3] / "examples"
    project = copy_project(examples, tmp_path / "examples")
    nbprod("export", "notebooks/train.ipynb", cwd=project)
    nbprod("run", "notebooks/train.ipynb", cwd=project)
    server, base, token = _start_server(tmp_path)
    try:
        request = urllib.request.Request(
            f"{base}/nbprod/serve", method="POST",
            data=json.dumps({"path": "examples/notebooks/train.ipynb"}).encode(),
            headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=150) as response:
            service = json.loads(response.read())
        assert service["running"] and _listening(service["port"])
        os.kill(server.pid, signal.SIGKILL)  # no handler of the server's can run
        server.wait(timeout=30)
        # The socket closes before the process has finished exiting: wait for both.
        deadline = time.monotonic() + 60
        while _listening(service["port"]) or serve_processes(port=service["port"]):
            assert time.monotonic() < deadline, "the service outlived its server"
            time.sleep(0.5)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
