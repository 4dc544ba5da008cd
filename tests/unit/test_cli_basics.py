"""The CLI boundary: exit codes and one-line errors."""

from __future__ import annotations


def test_out_of_order_finding_exits_1(run_cli, notebook_factory):
    path = notebook_factory(
        "nb.ipynb", {"source": "x = 1", "execution_count": 2}, {"source": "x", "execution_count": 1}
    )
    result = run_cli("lint", path, "--exit-zero")
    assert result.exit_code == 0
    result = run_cli("lint", path, "--select", "NB001")
    assert result.exit_code == 1
    assert "cell 2:1:1: NB001" in result.output


def test_unreadable_notebook_exits_2_without_traceback(run_cli, tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{}")
    result = run_cli("lint", bad)
    assert result.exit_code == 2
    assert "no 'nbformat' version key" in result.output
    assert "Traceback" not in result.output


def test_unknown_rule_suggests(run_cli):
    result = run_cli("rule", "execution-out-of-ordr")
    assert result.exit_code == 2
    assert "did you mean 'execution-out-of-order'" in result.output
