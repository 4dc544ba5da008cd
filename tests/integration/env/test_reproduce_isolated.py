"""``nbprod reproduce --isolated`` on the example project: the run's environment is rebuilt
from its receipt with uv (only what the run imported), the notebook matches there, and the
second reproduce reuses the environment. A receipt whose lock cannot be satisfied stops with
one line naming the package, and leaves no kernel and no environment behind."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from nbprod.env.lock import tomllib

EXAMPLE = Path(__file__).resolve().parents[3] / "examples"

pytestmark = pytest.mark.xdist_group("isolated-example")


@pytest.fixture(scope="module")
def example_run(cli, tmp_path_factory) -> tuple[Path, dict]:
    """The example project with one run of the training notebook: (project, receipt)."""
    project = tmp_path_factory.mktemp("example")
    for name in ("pyproject.toml", "data", "notebooks"):
        source = EXAMPLE / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    done = cli("run", "notebooks/train.ipynb", "-q", "--output-format", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    return project, json.loads(done.stdout)


def test_isolated_reproduce_matches_with_the_recorded_versions(cli, example_run):
    project, original = example_run
    recorded = original["environment"]
    # Only what the kernel imported (and what that requires), not the whole test venv. (skops,
    # which stores the notebook's model, imports pytest and dask where they are installed.)
    assert {"pandas", "scikit-learn", "ipykernel", "nbprod"} <= set(recorded["needed"])
    assert not {"jupyterlab", "jupyter-server", "kfp", "hypothesis"} & set(recorded["needed"])

    first = cli("reproduce", original["run_id"], "--isolated", "--output-format", "json",
                cwd=project)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["reproduced"] is True
    assert report["isolated"]["cached"] is False
    kernel = report["isolated"]["kernel"]
    assert cli.kernels() == [kernel]

    store = project / ".nbprod" / "runs"
    rerun = json.loads((store / report["run_id"] / "receipt.json").read_text())
    assert (rerun["kind"], rerun["parent"], rerun["kernel"]) == (
        "reproduce", original["run_id"], kernel)
    installed = rerun["environment"]["packages"]
    assert rerun["environment"]["executable"].startswith(report["isolated"]["environment"])
    assert {name: installed.get(name) for name in recorded["needed"]} == {
        name: recorded["packages"][name] for name in recorded["needed"]}
    assert set(installed) == set(recorded["needed"])

    began = time.monotonic()
    second = cli("reproduce", original["run_id"], "--isolated", "--output-format", "json",
                 cwd=project)
    elapsed = time.monotonic() - began
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["isolated"]["cached"] is True
    assert again["isolated"]["environment"] == report["isolated"]["environment"]
    assert again["isolated"]["seconds"] < 1.0
    assert elapsed < 30, f"a cached isolated reproduce took {elapsed:.1f} s"
    assert cli.kernels() == [kernel]


def test_unsatisfiable_lock_names_the_package_and_leaves_nothing(cli, example_run,
                                                                tmp_path):
    project, original = example_run
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    receipt_path = copy / ".nbprod" / "runs" / original["run_id"] / "receipt.json"
    receipt = json.loads(receipt_path.read_text())
    receipt["environment"]["packages"]["scikit-learn"] = "0.0.999"
    receipt_path.write_text(json.dumps(receipt))
    kernels, environments = cli.kernels(), cli.environments()

    done = cli("reproduce", original["run_id"], "--isolated", "-q", cwd=copy)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("error: run ") and "cannot lock scikit-learn==0.0.999" in lines[0]
    assert "--upgrade scikit-learn" in lines[0]
    assert cli.kernels() == kernels and cli.environments() == environments
    runs = sorted(p.name for p in (copy / ".nbprod" / "runs").iterdir())
    assert runs == sorted(p.name for p in (project / ".nbprod" / "runs").iterdir())

    lock = cli("env", "lock", original["run_id"], "-o", tmp_path / "pylock.toml", cwd=copy)
    assert lock.returncode == 2 and "scikit-learn==0.0.999" in lock.stderr
    assert not (tmp_path / "pylock.toml").exists()


def test_env_lock_writes_requirements_and_pylock(cli, example_run, tmp_path):
    project, original = example_run
    needed = original["environment"]["needed"]
    text = cli("env", "lock", original["run_id"], cwd=project)
    assert text.returncode == 0, text.stderr
    pins = [line for line in text.stdout.splitlines() if "==" in line]
    assert f"pandas=={original['environment']['packages']['pandas']} \\" in pins
    assert len(pins) == len(needed) - 1  # nbprod itself is an editable folder
    assert "--hash=sha256:" in text.stdout
    assert "nbprod 0.1.0 is an editable install of" in text.stderr

    # A unique prefix of the id: the other runs of this module start in the same seconds.
    pylock = cli("env", "lock", original["run_id"][:-2], "-o", tmp_path / "pylock.toml",
                 cwd=project)
    assert pylock.returncode == 0, pylock.stderr
    data = tomllib.loads((tmp_path / "pylock.toml").read_text())
    assert data["lock-version"] == "1.0"
    locked = {p["name"]: p.get("version") for p in data["packages"]}
    assert set(locked) == set(needed)
    assert locked["scikit-learn"] == original["environment"]["packages"]["scikit-learn"]


def test_changed_input_stops_before_anything_is_built(cli, example_run, tmp_path):
    project, original = example_run
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    kernels, environments = cli.kernels(), cli.environments()
    (copy / "data" / "wine.csv").write_text("target\n1\n")

    done = cli("reproduce", original["run_id"], "--isolated", "-q", cwd=copy)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"error: run {original['run_id']}: data/wine.csv changed since the run; restore the"
        " recorded inputs, or pass --allow-data-change to reproduce with the current ones")
    assert cli.kernels() == kernels and cli.environments() == environments
