"""Start a real ``jupyter lab`` on 127.0.0.1 for the browser tests, and stop it afterwards."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["running_lab"]


@contextmanager
def running_lab(argv: Sequence[str], token: str, *, cwd: Path, env: Mapping[str, str],
                log: Path) -> Iterator[str]:
    """Run ``argv`` (a ``jupyter lab`` command) on a free loopback port; yield its base URL.

    The options every test server needs (no browser, loopback, the token) are added here;
    the server's output goes to ``log``, which a failed start-up quotes.
    """
    port = _free_port()
    command = [*argv, "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=out,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/status", token, process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, token: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer within 90 s:\n{log.read_text()[-3000:]}")
