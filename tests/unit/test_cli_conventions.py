"""What a ruff or git user expects of a command line: suggestions, JSON, colour rules."""

from __future__ import annotations

import json
import sys

import pytest
from rich.text import Text


def test_a_mistyped_command_gets_a_suggestion(run_cli):
    result = run_cli("lnt")
    assert result.exit_code == 2
    assert "No such command 'lnt'. Did you mean 'lint'?" in result.output
    result = run_cli("xyzzy")
    assert result.exit_code == 2
    assert "No such command 'xyzzy'." in result.output and "Did you mean" not in result.output
    # Options before the command still reach the group.
    assert run_cli("--version").exit_code == 0


def test_init_reports_its_files_as_json(run_cli, tmp_path):
    result = run_cli("init", tmp_path, "--output-format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["changed"] is True
    actions = {f["path"]: f["action"] for f in report["files"]}
    assert actions["pyproject.toml"] == "created"
    assert all((tmp_path / path).is_file() for path in actions)
    again = json.loads(run_cli("init", tmp_path, "--output-format", "json").output)
    assert again["changed"] is False
    assert {f["action"] for f in again["files"]} == {"unchanged"}


def test_rule_documentation_as_json(run_cli):
    result = run_cli("rule", "NB001", "--output-format", "json")
    assert result.exit_code == 0
    rule = json.loads(result.output)
    assert rule["code"] == "NB001" and rule["linter"] == "nbprod"
    assert rule["explanation"].startswith("## What it does")
    every = json.loads(run_cli("rule", "--all", "--output-format", "json").output)
    codes = [r["code"] for r in every]
    assert "NB001" in codes and len(codes) == len(set(codes))
    ruff = json.loads(run_cli("rule", "F401", "--output-format", "json").output)
    assert ruff["code"] == "F401"


@pytest.mark.parametrize("no_color", [None, "1"])
def test_tables_on_a_terminal_honour_no_color(monkeypatch, capsys, no_color):
    from nbprod.cli.runs import _render

    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    _render(Text("failed", style="red"))
    out = capsys.readouterr().out
    assert "failed" in out
    assert ("\x1b[31m" in out) is (no_color is None)


def test_lint_diff_shows_the_fixes_and_writes_nothing(run_cli, notebook_factory):
    path = notebook_factory(
        "nb.ipynb", {"source": "import os\nx = 1", "execution_count": 1},
        {"source": "y = x", "execution_count": 2, "outputs": [
            {"output_type": "error", "ename": "NameError", "evalue": "x", "traceback": []}]})
    before = path.read_bytes()
    result = run_cli("lint", path, "--diff")
    assert result.exit_code == 1  # as ruff --diff: something would change
    assert "-import os" in result.output and "# its outputs are cleared" in result.output
    assert path.read_bytes() == before
    data = json.loads(run_cli("lint", path, "--diff", "--output-format", "json").stdout)
    (notebook,) = data["notebooks"]
    changed = {c["cell"]: c for c in notebook["cells"]}
    assert changed[1]["after"]["source"] == "x = 1"
    assert changed[2]["before"]["outputs"] == 1 and changed[2]["after"]["outputs"] == 0
    assert path.read_bytes() == before


def test_lint_diff_names_the_one_output_a_fix_removes(run_cli, notebook_factory):
    # NB007 removes a saved error and keeps what the cell printed before it.
    path = notebook_factory("nb.ipynb", {"source": "print(1)\n1 / 0", "execution_count": 1,
                                         "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "1\n"},
        {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
         "traceback": []}]})
    result = run_cli("lint", path, "--diff", "--select", "NB007")
    assert "# output 2 of 2 is removed" in result.output
    data = json.loads(run_cli("lint", path, "--diff", "--select", "NB007", "--output-format",
                              "json").stdout)
    (cell,) = data["notebooks"][0]["cells"]
    assert cell["removed_outputs"] == [1] and cell["after"]["outputs"] == 1


def test_shell_completion_as_documented():
    """`eval "$(_NBPROD_COMPLETE=bash_source nbprod)"` (docs/cli.md) completes commands."""
    import os
    import subprocess

    env = {**os.environ, "_NBPROD_COMPLETE": "bash_source"}
    script = subprocess.run([sys.executable, "-m", "nbprod"], env=env, capture_output=True,
                            text=True, check=True).stdout
    assert "_nbprod_completion" in script
    env = {**os.environ, "_NBPROD_COMPLETE": "bash_complete", "COMP_WORDS": "nbprod ru",
           "COMP_CWORD": "1"}
    words = subprocess.run([sys.executable, "-m", "nbprod"], env=env, capture_output=True,
                           text=True, check=True).stdout.split()
    assert "plain,run" in words and "plain,runs" in words and "plain,rule" in words


def test_help_lists_every_command_without_importing_them():
    import subprocess

    from nbprod.cli import COMMANDS, SUMMARIES, cli

    assert set(SUMMARIES) == set(COMMANDS)
    import click

    ctx = click.Context(cli)
    for name, summary in SUMMARIES.items():  # the static table says what each command says
        assert cli.get_command(ctx, name).get_short_help_str(limit=300) == summary, name
    probe = ("import sys, runpy; sys.argv = ['nbprod', '--help']\n"
             "try:\n    runpy.run_module('nbprod', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m in COMMAND_MODULES or m.startswith("
             "('nbprod.lint', 'nbprod.store', 'nbprod.export', 'nbprod.pipeline'))))")
    command_modules = sorted({target.split(":")[0] for target in COMMANDS.values()})
    probe = f"COMMAND_MODULES = {command_modules!r}\n" + probe
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert "nbprod run" in done.stdout or "Commands:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
