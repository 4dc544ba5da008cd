"""Bad input: every malformed notebook gives exit 2, a one-line reason, and writes nothing."""

from __future__ import annotations

import subprocess
import sys
import time

import nbformat
import pytest
from malformed_corpus import MALFORMED, build_huge, build_malformed, build_odd, tree_digest
from notebook_builder import make_notebook

# A few go through a real subprocess (the console script's own error boundary).
SUBPROCESS_CASES = ("not-json.ipynb", "utf16.ipynb", "deep-nesting.ipynb", "no-nbformat.ipynb")


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_corpus_has_at_least_30_cases():
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_notebook_exits_2_with_one_line(run_cli, tmp_path, name):
    expected = build_malformed(tmp_path / "corpus")
    path = tmp_path / "corpus" / name
    before = tree_digest(tmp_path)
    result = run_cli("lint", path, "--fix")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = _error_lines(result.output)
    assert len(errors) == 1, result.output
    assert name in errors[0] and expected[path] in errors[0], errors[0]
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_malformed_through_the_console_script(tmp_path, name):
    build_malformed(tmp_path)
    before = tree_digest(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "nbprod", "lint", str(tmp_path / name)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = _error_lines(proc.stderr)
    assert len(errors) == 1 and name in errors[0]
    assert tree_digest(tmp_path) == before


def test_whole_malformed_folder_lists_every_file(run_cli, tmp_path):
    expected = build_malformed(tmp_path / "corpus")
    before = tree_digest(tmp_path)
    result = run_cli("lint", tmp_path / "corpus")  # ruff runs over the folder too
    assert result.exit_code == 2
    errors = _error_lines(result.output)
    assert len(errors) == len(expected)
    for path in expected:
        assert sum(f"/{path.name}:" in line for line in errors) == 1, path.name
    assert tree_digest(tmp_path) == before


def test_size_guard_refuses_200_mb_quickly(run_cli, tmp_path):
    huge = build_huge(tmp_path / "huge.ipynb")
    before = tree_digest(tmp_path)
    start = time.perf_counter()
    result = run_cli("lint", huge)
    elapsed = time.perf_counter() - start
    assert result.exit_code == 2
    assert "over the 100 MiB limit" in result.output and "--max-size" in result.output
    assert elapsed < 5  # refused from its size, never read
    assert tree_digest(tmp_path) == before
    result = run_cli("lint", huge, "--max-size", "150")
    assert result.exit_code == 2 and "over the 150 MiB limit" in result.output


def test_odd_but_valid_notebooks_lint_and_stay_untouched(run_cli, tmp_path):
    build_odd(tmp_path / "odd")
    before = tree_digest(tmp_path)
    result = run_cli("lint", tmp_path / "odd", "--exit-zero")
    assert result.exit_code == 0, result.output
    assert "error:" not in result.output
    assert "Traceback" not in result.output and "NbprodWarning" not in result.output
    assert "warning: " in result.output
    assert "v3.ipynb: nbformat 3 notebook upgraded" in result.output
    assert tree_digest(tmp_path) == before


def test_one_malformed_among_100_still_lints_the_99(run_cli, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    text = nbformat.writes(
        make_notebook({"source": "# Title", "cell_type": "markdown"},
                      {"source": "import os", "execution_count": 1})
    )
    for i in range(99):
        (folder / f"nb{i:03d}.ipynb").write_text(text, encoding="utf-8")
    (folder / "nb050-broken.ipynb").write_bytes(b'{"nbformat": 4, "cells": [')
    result = run_cli("lint", folder, "--select", "F401", "--output-format", "json")
    assert result.exit_code == 2
    errors = _error_lines(result.output)
    assert len(errors) == 1 and "nb050-broken.ipynb" in errors[0]
    assert "99 notebooks" in result.output and "1 notebook could not be read" in result.output
    # Each of the 99 readable notebooks reported its unused import (ruff, cell 2).
    assert result.output.count('"code": "F401"') == 99
