"""`nbprod sweep` on the command line, with real runs: options, typed values, sweep files."""

from __future__ import annotations

import pytest

from nbprod.store import open_project_store


@pytest.mark.parametrize("quiet", [False, True])
def test_sweep_quiet_turns_progress_off(sweep_project, run_cli, monkeypatch, quiet):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # stderr drawn as on a terminal
    result = run_cli("sweep", sweep_project / "train.ipynb", "-p", "depth", "2,3",
                     "--max-parallel", "1", *(["-q"] if quiet else []))
    assert result.exit_code == 0, result.output
    # One progress line per finished run, unless -q.
    assert ("run-1" in result.stderr) is not quiet, result.stderr
    assert "sweep " in result.stdout
    assert result.stderr.strip().splitlines()[-1].endswith("2 of 2 runs succeeded")
    assert len(open_project_store(sweep_project).list_runs()) == 3
