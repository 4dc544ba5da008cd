"""Terminal output survives any text a notebook may hold and a reader that goes away."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from notebook_builder import make_notebook

TEXT = 'x = "漢字 é 😀"\nprint(x)'


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("command", [("tag", "--suggest"), ("tag",), ("lint", "--exit-zero"),
                                     ("params",)])
def test_narrow_terminal_encoding_escapes_instead_of_crashing(tmp_path, command, encoding):
    nb = tmp_path / "漢字.ipynb"
    nb.write_text(nbformat.writes(make_notebook(
        {"source": 'name: str = "é"  # 漢字', "tags": ["parameters"]}, TEXT)), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    proc = subprocess.run([sys.executable, "-m", "nbprod", *command, str(nb)],
                          capture_output=True, env=env, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"Traceback" not in proc.stderr
    shown = proc.stdout + proc.stderr
    assert b"\\u6f22" in shown or "漢".encode() in shown  # escaped, or as click's UTF-8


def test_reader_gone_ends_lint_quietly(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    text = nbformat.writes(make_notebook("import os"))
    for i in range(200):
        (folder / f"nb{i:03d}.ipynb").write_text(text, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "nbprod", "lint", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    # No BrokenPipeError, no "Exception ignored" at shutdown: only the summary.
    lines = stderr.decode().splitlines()
    assert len(lines) == 1 and "findings in 200 notebooks" in lines[0], lines
