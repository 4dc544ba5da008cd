"""Ctrl-C during ``pytest --nbprod`` stops the session as pytest does for any test: its own
"KeyboardInterrupt" summary and exit status 2, no traceback from nbclient, the notebook not
counted as failed, and its kernel stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from nbtest_support import write_notebook

from tests.integration.run.runhelpers import ctrl_c, killed_at_exit, pid_gone

UNUSED = ("playwright", "nbval", "nbmake", "hypothesispytest", "anyio", "asyncio", "cacheprovider")


def _pid_in(marker) -> int | None:
    """The kernel's process id, once the notebook's cell has written it."""
    try:
        return int(marker.read_text())
    except (FileNotFoundError, ValueError):
        return None


@pytest.mark.parametrize("to", ["pytest", "group"])
def test_ctrl_c_stops_the_session_as_pytest_does_and_stops_the_kernel(tmp_path, to):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "slow"\n')
    write_notebook(tmp_path, "slow.ipynb",
                   "import os, time\nwith open('started', 'w') as f:\n    f.write(str(os.getpid()))"
                   "\ntime.sleep(60)")
    started = tmp_path / "started"
    job = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--nbprod", "slow.ipynb",
         *(arg for name in UNUSED for arg in ("-p", f"no:{name}"))],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(tmp_path)})
    with killed_at_exit(job):
        deadline = time.monotonic() + 90
        while not _pid_in(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        kernel = _pid_in(started)
        assert kernel, job.communicate(timeout=5)
        stopped = time.monotonic()
        out, err = ctrl_c(job, to)
    assert time.monotonic() - stopped < 20, "the session went on after Ctrl-C"
    assert job.returncode == 2, (out, err)
    assert "!!! KeyboardInterrupt !!!" in out, out
    assert "FAILED" not in out and "failed" not in out, out
    assert "nbclient" not in out + err and "DeadKernelError" not in out + err, (out, err)
    assert "Traceback" not in out + err and "AssertionError" not in out + err, (out, err)
    assert pid_gone(kernel, 10), "the notebook's kernel outlived the session"
