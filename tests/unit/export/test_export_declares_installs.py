"""A `pip install` in an exported cell is left out of the code and its package declared."""

from __future__ import annotations

import json


def test_installs_of_exported_cells_are_declared_once(run_cli, notebook_factory, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "inst"\n')
    path = notebook_factory(
        "inst.ipynb",
        {"source": "!pip install -q xgboost 'scikit-learn>=1.3'\nimport math", "tags": ["export"]},
        {"source": "def area(r):\n    return math.pi * r * r", "tags": ["export"]},
        {"source": "!pip install never-exported"})
    result = run_cli("export", path, "--check", cwd=tmp_path)
    assert not (tmp_path / "requirements.txt").exists()  # --check writes nothing
    result = run_cli("export", path, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "requirements.txt").read_text() == "xgboost\nscikit-learn>=1.3\n"
    assert "declared xgboost, scikit-learn>=1.3 in" in result.output
    module = next(p for p in tmp_path.rglob("inst.py"))
    assert "pip" not in module.read_text() and "import math" in module.read_text()
    again = json.loads(run_cli("export", path, "--output-format", "json", cwd=tmp_path).stdout)
    assert again["declared"] == []  # already declared: nothing more
    assert (tmp_path / "requirements.txt").read_text() == "xgboost\nscikit-learn>=1.3\n"
