"""``nbprod env list`` and ``nbprod env prune`` on a cache folder of environments made here:
old ones go with their kernels, recent ones and those in use stay, failed builds go."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbprod.env.isolated import MARKER
from nbprod.env.pruning import environments, prune

DAY = 86400


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    return tmp_path / "cache"


def _env(cache: Path, key: str, *, age_days: float | None, size: int = 1000) -> Path:
    """An environment folder built ``age_days`` ago (None: a build that never finished),
    with its kernel registered."""
    folder = cache / "envs" / key
    (folder / "bin").mkdir(parents=True)
    (folder / "lib.bin").write_bytes(b"x" * size)
    if age_days is not None:
        marker = folder / MARKER
        marker.write_text(json.dumps({"run_id": f"run-{key}", "python": "3.11.7"}))
        then = time.time() - age_days * DAY
        os.utime(marker, (then, then))
    kernel = cache.parent / "jupyter" / "kernels" / f"nbprod-{key}"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text("{}")
    return folder


def _kernel(cache: Path, key: str) -> Path:
    return cache.parent / "jupyter" / "kernels" / f"nbprod-{key}"


def test_old_environments_and_failed_builds_go_with_their_kernels(cache):
    old, recent, failed = (_env(cache, "old", age_days=40), _env(cache, "recent", age_days=2),
                           _env(cache, "failed", age_days=None))
    listed = environments(cache)
    assert [env.key for env in listed] == ["failed", "recent", "old"]  # the latest first
    assert {env.key: env.complete for env in listed} == {
        "old": True, "recent": True, "failed": False}
    assert all(env.size >= 1000 for env in listed)

    would, busy = prune(cache, 30, dry_run=True)
    assert {env.key for env in would} == {"old", "failed"} and busy == []
    assert old.exists() and failed.exists()  # a dry run removes nothing

    removed, busy = prune(cache, 30)
    assert {env.key for env in removed} == {"old", "failed"} and busy == []
    assert not old.exists() and not failed.exists() and recent.exists()
    assert not _kernel(cache, "old").exists() and _kernel(cache, "recent").exists()


def test_an_environment_being_built_or_running_a_kernel_is_kept(cache, tmp_path):
    building = _env(cache, "building", age_days=None)
    running = _env(cache, "running", age_days=90)
    os.symlink(sys.executable, running / "bin" / "python")
    kernel = subprocess.Popen([str(running / "bin" / "python"), "-c",
                               "import time; print('up', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert kernel.stdout.readline() == "up\n"  # running, not just forked
        with open(cache / "envs" / "building.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # a build in progress
            removed, busy = prune(cache, 0)
        assert removed == [] and {env.key for env in busy} == {"building", "running"}
        assert building.exists() and running.exists()
    finally:
        kernel.kill()
        kernel.wait()
    removed, _ = prune(cache, 0)
    assert {env.key for env in removed} == {"building", "running"}


def test_the_commands_list_and_prune(cache, run_cli):
    assert "No isolated environments" in run_cli("env", "list").output
    _env(cache, "cd7f910c34054981", age_days=45, size=3 * 2**20)
    _env(cache, "0a1b2c3d4e5f6a7b", age_days=0.5)
    listed = run_cli("env", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ENVIRONMENT", "RUN", "PYTHON", "LAST", "USED", "SIZE"]
    assert lines[1].startswith("0a1b2c3d4e5f6a7b") and "12 hours ago" in lines[1]
    assert "45 days ago" in lines[2] and lines[2].endswith("3.0 MiB")
    data = json.loads(run_cli("env", "list", "--output-format", "json").stdout)
    assert [env["run_id"] for env in data] == ["run-0a1b2c3d4e5f6a7b", "run-cd7f910c34054981"]

    pruned = run_cli("env", "prune")
    assert pruned.exit_code == 0
    assert pruned.stdout.startswith(f"removed {cache / 'envs' / 'cd7f910c34054981'} (3.0 MiB")
    assert "Removed 1 environment (3.0 MiB)." in pruned.stderr
    assert [env["key"] for env in json.loads(
        run_cli("env", "list", "--output-format", "json").stdout)] == ["0a1b2c3d4e5f6a7b"]
