"""Bad input: every malformed notebook gives exit 2, a one-line reason, and writes nothing."""

from __future__ import annotations

import subprocess
import sys
import time

import nbformat
import pytest
from malformed_corpus import (
    MALFORMED,
    SPECIAL,
    VALID,
    build_huge,
    build_malformed,
    build_odd,
    build_special,
    tree_digest,
)
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


# Paths that are not regular files: each command refuses them in one line, at once (a FIFO
# or /dev/zero used to hang or exhaust memory, a symlink loop to crash). Run as real
# processes so that a hang is a timeout failure rather than a stuck test session.
SPECIAL_COMMANDS = {
    "lint": ("lint",),
    "lint-fix": ("lint", "--fix"),
    "params": ("params",),
    "tag": ("tag", "--suggest"),
    "export": ("export", "--dry-run"),
    "run": ("run",),
}


@pytest.mark.parametrize("command", sorted(SPECIAL_COMMANDS))
@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_special_paths_are_refused_by_every_command(tmp_path, name, command):
    expected = build_special(tmp_path / "corpus")
    path = tmp_path / "corpus" / name
    before = tree_digest(tmp_path / "corpus") if name != "dev-zero.ipynb" else None
    proc = subprocess.run(
        [sys.executable, "-m", "nbprod", *SPECIAL_COMMANDS[command], str(path)],
        capture_output=True, text=True, timeout=30, cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    errors = _error_lines(proc.stderr)
    assert len(errors) == 1, proc.stderr
    assert name in errors[0] and expected[path] in errors[0], errors[0]
    assert not (tmp_path / ".nbprod").exists()
    if before is not None:
        assert tree_digest(tmp_path / "corpus") == before


@pytest.mark.parametrize("command", ["tag", "run", "export"])
def test_lone_surrogate_is_refused_naming_the_cell(run_cli, tmp_path, command):
    build_malformed(tmp_path / "corpus")
    path = tmp_path / "corpus" / "lone-surrogate.ipynb"
    before = tree_digest(tmp_path)
    result = run_cli(*SPECIAL_COMMANDS[command], path, cwd=tmp_path)
    assert result.exit_code == 2, result.output
    errors = _error_lines(result.output)
    assert len(errors) == 1 and "cell 2 (id 'c2') source holds a lone UTF-16" in errors[0]
    assert tree_digest(tmp_path) == before


def test_size_cap_holds_while_reading(tmp_path):
    """The cap is enforced on the bytes read, not only on the size stat reported."""
    from nbprod.errors import NotebookError
    from nbprod.notebook import read_bytes

    path = tmp_path / "big.ipynb"
    path.write_bytes(b" " * 3000)
    with pytest.raises(NotebookError, match="over the 0 MiB limit"):
        read_bytes(path, max_bytes=2000)
    assert read_bytes(path, max_bytes=3000) == b" " * 3000


def test_ruff_is_never_handed_a_refused_path(run_cli, tmp_path, monkeypatch):
    import nbprod.lint.ruff as ruff

    build_special(tmp_path / "corpus")
    good = tmp_path / "corpus" / "good.ipynb"
    good.write_bytes(VALID)
    started: list[list[str]] = []
    real_popen = ruff.subprocess.Popen

    def spy(args, **kwargs):
        started.append([str(a) for a in args])
        return real_popen(args, **kwargs)

    monkeypatch.setattr(ruff.subprocess, "Popen", spy)
    paths = [tmp_path / "corpus" / n for n in ("fifo.ipynb", "dev-zero.ipynb", "loop.ipynb",
                                               "broken-link.ipynb")]
    result = run_cli("lint", good, *paths)
    assert result.exit_code == 2
    assert len(_error_lines(result.output)) == 4
    handed = [a for argv in started for a in argv[argv.index("--") + 1:]]
    assert handed == [str(good)]


def test_ruff_dies_with_a_killed_nbprod(tmp_path):
    """A ruff child stuck on its input does not outlive nbprod killed with SIGKILL."""
    import os
    import signal

    fifo = tmp_path / "stuck.ipynb"
    os.mkfifo(fifo)  # ruff blocks opening it: a child that would never end by itself
    script = (
        "import sys, time\n"
        "from nbprod.lint.ruff import RuffBatch\n"
        f"batch = RuffBatch([{str(fifo)!r}], ['F']).start()\n"
        "print(batch._runs[0][0].pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has already ended)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_lone_surrogate_in_text_given_directly_is_refused():
    """``loads`` of a str (the server, tests) meets the character itself, not its escape."""
    import json

    from nbprod.errors import NotebookError
    from nbprod.notebook import loads

    text = VALID.decode().replace('"x = 1"', json.dumps("x = '\ud800'", ensure_ascii=False))
    with pytest.raises(NotebookError, match=r"cell 1 \(id 'c1'\) source holds a lone UTF-16"):
        loads(text, path="direct.ipynb")
    escaped = VALID.decode().replace('"x = 1"', '"x = \\\\ud800"')  # an escaped backslash
    assert loads(escaped).cells[0].source == "x = \\ud800"
