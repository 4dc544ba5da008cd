"""Real pieces for pipeline tests: a Dask scheduler and two workers on 127.0.0.1, projects."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60


def _spawn(args: list[str], log: Path, **options) -> subprocess.Popen:
    handle = log.open("wb")
    # A session of its own, so teardown can kill the nanny, its worker and their kernels.
    return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True, **options)


def _without_disk(args: list[str], hidden: Path) -> list[str]:
    """``args`` run in a mount namespace of their own where ``hidden`` is an empty tmpfs.

    The workers then cannot see the client's projects (every test's folder is under pytest's
    base temporary folder), as on a cluster with no shared disk: what a step needs must be
    sent to it and what it produces sent back.
    """
    script = 'mount -t tmpfs nbprod-hidden "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
            str(hidden), *args]


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """``(address, processes)``: ``dask scheduler`` plus two ``dask worker`` processes.

    Every listener is bound to 127.0.0.1 on a free port; the dashboards are off.
    """
    distributed = pytest.importorskip("distributed", reason="needs nbprod[dask]")
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    loopback = ["--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    processes = [_spawn([str(BIN / "dask"), "scheduler", "--port", "0", *loopback,
                         "--scheduler-file", str(scheduler_file)], folder / "scheduler.log")]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), (folder / "scheduler.log").read_text()
        time.sleep(0.2)  # the file is written in one go, but give the writer a moment
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        hidden = tmp_path_factory.getbasetemp()
        for number in (1, 2):
            # Each worker has its own working and temporary folder, outside the hidden tree.
            home = Path(tempfile.mkdtemp(prefix=f"nbprod-worker{number}-"))
            processes.append(_spawn(
                _without_disk(
                    [str(BIN / "dask"), "worker", address, *loopback, "--nthreads", "1",
                     "--death-timeout", "60", "--memory-limit", "0", "--name", f"w{number}",
                     "--local-directory", str(home / "dask"),
                     # As the docs advise: imports done while the worker starts.
                     "--preload", "nbprod.pipeline.worker"], hidden),
                folder / f"worker{number}.log", cwd=home,
                env={**os.environ, "TMPDIR": str(home / "tmp")}))
            (home / "tmp").mkdir()
        with distributed.Client(address, timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
            workers = client.scheduler_info()["workers"]
            assert all(addr.startswith("tcp://127.0.0.1:") for addr in workers)
        yield address, processes
    finally:
        for process in reversed(processes):
            _stop(process)


def write_notebook(path: Path, *cells) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(make_notebook(*cells)), encoding="utf-8")
    return path


@pytest.fixture
def notebook_writer():
    """``notebook_writer(path, *cells)``: write a built notebook anywhere (for odd layouts)."""
    return write_notebook


@pytest.fixture
def sweep_project(tmp_path):
    """A project with a notebook that records a score and raises for depth 99."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"demo\"\n")
    write_notebook(
        tmp_path / "train.ipynb",
        {"source": "lr: float = 0.1\ndepth: int = 3", "tags": ["parameters"]},
        "import nbprod\nscore = lr * depth\nnbprod.record('score', score)",
        "if depth == 99:\n    raise ValueError(f'depth {depth} is too deep')",
    )
    return tmp_path


NOTEBOOK_PIPELINE = """
[tool.nbprod.pipeline]
name = "files"

[[tool.nbprod.pipeline.steps]]
name = "prepare"
notebook = "prepare.ipynb"
inputs = ["raw.txt"]
outputs = ["data/clean.txt"]

[[tool.nbprod.pipeline.steps]]
name = "train"
notebook = "train.ipynb"
inputs = ["data/clean.txt"]
"""


@pytest.fixture
def notebook_pipeline(tmp_path):
    """Two notebook steps chained by a file: prepare writes data/clean.txt, train reads it."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = \"files\"\n" + NOTEBOOK_PIPELINE)
    (tmp_path / "raw.txt").write_text("a b c\n")
    write_notebook(
        tmp_path / "prepare.ipynb",
        {"source": "upper: bool = True", "tags": ["parameters"]},
        "import os\nos.makedirs('data', exist_ok=True)\ntext = open('raw.txt').read()\n"
        "open('data/clean.txt', 'w').write(text.upper() if upper else text)",
    )
    write_notebook(
        tmp_path / "train.ipynb",
        {"source": "scale: int = 1", "tags": ["parameters"]},
        "import nbprod\nwords = open('data/clean.txt').read().split()\n"
        "nbprod.record('words', len(words) * scale)",
    )
    return tmp_path


@pytest.fixture
def step_notebook(tmp_path):
    """A notebook whose step: cells form a diamond: load -> (good, bad -> after)."""

    def write(bad_code: str = "oops = 1 / zero", extra_params: str = "") -> Path:
        (tmp_path / "pyproject.toml").write_text("[project]\nname = \"flow\"\n")
        return write_notebook(
            tmp_path / "flow.ipynb",
            {"source": f"n: int = 4\nzero: int = 0{extra_params}", "tags": ["parameters"]},
            {"source": "data = list(range(n))", "tags": ["step:load"]},
            {"source": "total = sum(data)", "tags": ["step:good"]},
            {"source": bad_code, "tags": ["step:bad"]},
            {"source": "final = oops + 1", "tags": ["step:after"]},
        )

    return write
