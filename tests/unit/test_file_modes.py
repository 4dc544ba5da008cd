"""Files nbprod rewrites keep their permissions; files it creates get the umask's (not 0600)."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path) -> int:
    return path.stat().st_mode & 0o7777


def test_lint_fix_keeps_the_notebook_mode(notebook_factory, run_cli, umask_022):
    nb = notebook_factory("nb.ipynb", "import os\nimport sys\nprint(sys.argv)")
    os.chmod(nb, 0o664)
    result = run_cli("lint", nb, "--fix", "--select", "F401")
    assert "import os" not in nb.read_text(), result.output  # the fix was written
    assert oct(_mode(nb)) == oct(0o664)


def test_export_writes_new_files_with_the_umask_mode_and_keeps_changed_ones(
        tmp_path, notebook_factory, run_cli, umask_022):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    nb = notebook_factory("nb.ipynb", {"source": "def double(x):\n    return 2 * x",
                                       "tags": ["export"]})
    assert run_cli("export", nb).exit_code == 0
    module = tmp_path / "demo" / "nb.py"
    assert oct(_mode(module)) == oct(0o644)
    os.chmod(module, 0o640)
    data = json.loads(nb.read_text())
    data["cells"][0]["source"] = "def double(x):\n    return x + x"
    nb.write_text(json.dumps(data))
    result = run_cli("export", nb)
    assert result.exit_code == 0, result.output
    assert "x + x" in module.read_text()
    assert oct(_mode(module)) == oct(0o640)
