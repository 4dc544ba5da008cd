"""Start ``nbprod serve`` for real (uvicorn on 127.0.0.1) and wait until it is ready."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

NBPROD = str(Path(sys.executable).with_name("nbprod"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nbprod(*args, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([NBPROD, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def latest_run(project: Path) -> str:
    listed = nbprod("runs", "list", "--output-format", "json", cwd=project).stdout
    return json.loads(listed)[0]["run_id"]


@contextmanager
def serving(command: list[str], cwd: Path, log: Path, env: dict | None = None):
    """Run a service command with ``--port``-style arguments already in it; yield its URL.

    ``command`` holds ``{port}`` where the port goes. The process is stopped at the end.
    """
    port = free_port()
    args = [part.format(port=port) for part in command]
    with open(log, "wb") as sink:
        process = subprocess.Popen(args, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the service exited: {log.read_text()}")
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the service never became ready: {log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def copy_project(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".nbprod", "__pycache__"))
    return target


def serve_processes(*, cwd: Path | None = None, port: int | None = None) -> list:
    """The live ``nbprod serve`` processes (zombies left out) run in ``cwd`` or serving on
    ``port``, whichever is given."""
    import psutil

    folder = str(cwd.resolve()) if cwd is not None else None
    found = []
    for process in psutil.process_iter(["cmdline", "status", "cwd"]):
        command = process.info["cmdline"] or []
        if ("serve" in command and process.info["status"] != psutil.STATUS_ZOMBIE
                and (folder is None or process.info["cwd"] == folder)
                and (port is None or str(port) in command)):
            found.append(process)
    return found
