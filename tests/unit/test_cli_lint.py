"""``nbprod lint`` and ``nbprod rule`` through the real CLI boundary: exit codes and formats."""

from __future__ import annotations

import json

import nbformat
import pytest

CLEAN = ({"source": "# Title", "cell_type": "markdown"},
         {"source": "x = 1\nprint(x)", "execution_count": 1})
MESSY = ({"source": "# Title", "cell_type": "markdown"},
         {"source": "import os\nx = 1", "execution_count": 2},
         {"source": "print(x)", "execution_count": 1})


@pytest.fixture
def clean(notebook_factory):
    return notebook_factory("clean.ipynb", *CLEAN)


@pytest.fixture
def messy(notebook_factory):
    return notebook_factory("messy.ipynb", *MESSY)


def test_clean_notebook_exits_0(run_cli, clean):
    result = run_cli("lint", clean)
    assert result.exit_code == 0, result.output
    assert "Found 0 findings in 1 notebook." in result.output


def test_findings_exit_1_and_exit_zero(run_cli, messy):
    result = run_cli("lint", messy)
    assert result.exit_code == 1
    assert "messy.ipynb:cell 3:1:1: NB001" in result.output
    assert "messy.ipynb:cell 2:1:8: F401 [*] `os` imported but unused" in result.output
    assert run_cli("lint", messy, "--exit-zero").exit_code == 0


def test_quiet_prints_the_findings_only(run_cli, messy):
    result = run_cli("lint", messy, "-q")
    assert result.exit_code == 1
    assert "F401" in result.stdout and result.stderr == ""
    assert "Found" not in result.output


def test_usage_errors_exit_2(run_cli, messy, tmp_path):
    assert run_cli("lint", tmp_path / "missing.ipynb").exit_code == 2
    result = run_cli("lint", messy, "--select", "NB0001")
    assert result.exit_code == 2 and "did you mean 'NB001'" in result.output
    result = run_cli("lint", messy, "--output-format", "xml")
    assert result.exit_code == 2


def test_select_ignore_extend_select(run_cli, messy):
    codes = lambda *a: {d["code"] for d in json.loads(  # noqa: E731
        run_cli("lint", messy, "--output-format", "json", *a).output.split("\nFound")[0])}
    assert codes("--select", "F401") == {"F401"}
    assert "F401" not in codes("--ignore", "F")
    assert codes("--select", "NB001,F401") == {"NB001", "F401"}
    assert codes("--select", "NB001", "--extend-select", "F4") == {"NB001", "F401"}
    assert "F401" not in codes("--no-ruff")


def test_ignore_on_the_command_line_adds_to_the_configured_ignore(run_cli, messy):
    """As ruff's: a hook's --ignore NB208 must not bring back what the project ignores;
    a --select on the command line starts afresh."""
    (messy.parent / "pyproject.toml").write_text(
        "[project]\nname = 'p'\n[tool.nbprod.lint]\nignore = ['F401']\n")
    codes = lambda *a: {d["code"] for d in json.loads(  # noqa: E731
        run_cli("lint", messy, "--output-format", "json", *a).output.split("\nFound")[0])}
    assert codes() == {"NB001"}
    assert codes("--ignore", "NB208") == {"NB001"}
    assert codes("--ignore", "NB001") == set()
    assert codes("--select", "NB001,F401", "--ignore", "NB001") == {"F401"}


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "text"])
def test_output_formats(run_cli, messy, fmt):
    result = run_cli("lint", messy, "--output-format", fmt, "--select", "NB001,F401")
    assert result.exit_code == 1
    out = result.stdout
    if fmt == "json":
        assert [d["cell"] for d in json.loads(out)] == [2, 3]
    elif fmt == "sarif":
        assert json.loads(out)["runs"][0]["results"][0]["properties"]["cell"] == 2
    elif fmt == "github":
        assert out.splitlines()[1].startswith("::warning title=nbprod (NB001),file=")
    else:
        lines = out.splitlines()
        assert len(lines) == 3
        assert lines[2] == f"{messy}: no rerun blocker found"


def test_statistics(run_cli, messy):
    result = run_cli("lint", messy, "--statistics", "--select", "NB001,F401")
    assert result.exit_code == 1
    assert "    1\tF401\t[*] unused-import" in result.stdout
    assert "    1\tNB001\t[ ] execution-out-of-order" in result.stdout
    data = json.loads(run_cli("lint", messy, "--statistics", "--output-format", "json").stdout)
    assert {"code": "F401", "count": 1, "fixable": True, "name": "unused-import"} in data


def test_fix_writes_and_reports(run_cli, messy):
    before = messy.read_bytes()
    result = run_cli("lint", messy, "--fix", "--select", "F401")
    assert result.exit_code == 0, result.output
    assert "Fixed 1, found 0 findings" in result.output
    assert messy.read_bytes() != before
    assert nbformat.read(messy, 4).cells[1].source == "x = 1"


def test_fix_reads_a_notebook_named_like_an_option_as_a_notebook(run_cli, messy, monkeypatch):
    named = messy.with_name("-x.ipynb")
    messy.rename(named)
    monkeypatch.chdir(named.parent)
    result = run_cli("lint", "--fix", "--select", "F401", "--", "-x.ipynb")
    assert result.exit_code == 0, result.output
    assert "Fixed 1, found 0 findings" in result.output
    assert nbformat.read(named, 4).cells[1].source == "x = 1"


def test_lint_never_writes_without_fix(run_cli, messy):
    before = sorted(p.name for p in messy.parent.iterdir())
    data = messy.read_bytes()
    run_cli("lint", messy)
    assert messy.read_bytes() == data
    assert sorted(p.name for p in messy.parent.iterdir()) == before  # no .ruff_cache either


def test_pyproject_config_and_cli_override(run_cli, messy):
    (messy.parent / "pyproject.toml").write_text(
        '[tool.nbprod.lint]\nselect = ["NB001"]\nper-file-ignores = {"other.ipynb" = ["NB"]}\n'
    )
    result = run_cli("lint", messy, "--output-format", "json")
    assert {d["code"] for d in json.loads(result.stdout)} == {"NB001"}
    result = run_cli("lint", messy, "--output-format", "json", "--select", "F401")
    assert {d["code"] for d in json.loads(result.stdout)} == {"F401"}
    (messy.parent / "pyproject.toml").write_text('[tool.nbprod.lint]\nselct = ["NB001"]\n')
    result = run_cli("lint", messy)
    assert result.exit_code == 2 and "did you mean 'select'" in result.output


def test_rule_command(run_cli):
    result = run_cli("rule", "NB001")
    assert result.exit_code == 0 and result.output.startswith("NB001 (execution-out-of-order)")
    assert "## What it does" in result.output
    assert "Fix: none · On by default: yes · Rerun blocker: no" in result.output
    assert "On by default: no" in run_cli("rule", "NB002").output
    result = run_cli("rule", "--all")
    assert result.exit_code == 0 and "NB001" in result.output
    assert "  NB004     used-before-defined              rerun Checks" in result.output
    result = run_cli("rule", "F401")
    assert result.exit_code == 0 and "unused-import" in result.output
    assert run_cli("rule", "ZZZ9999").exit_code == 2


def test_pre_commit_hook_definition():
    from pathlib import Path

    import yaml

    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "nbprod-lint")
    assert hook["entry"] == "nbprod lint" and hook["types"] == ["jupyter"]


def _tiny_notebooks(folder, count: int) -> None:
    folder.mkdir(exist_ok=True)
    text = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))
    for i in range(count):
        (folder / f"nb{i:03d}.ipynb").write_text(text)


@pytest.mark.parametrize("jobs", [1, 2])
def test_lint_reports_its_progress_notebook_by_notebook(tmp_path, jobs):
    from nbprod.lint import LintConfig, lint_paths

    _tiny_notebooks(tmp_path, 30)  # 30: enough for the pool of two workers
    calls: list[tuple[int, int]] = []
    lint_paths([tmp_path], LintConfig(ruff=False), jobs=jobs,
               progress=lambda done, total: calls.append((done, total)))
    assert calls == [(done, 30) for done in range(31)]


def test_a_long_lint_draws_a_progress_bar_on_a_terminal_only(tmp_path):
    """On a terminal, a lint of PROGRESS_MINIMUM notebooks draws a bar on stderr (and wipes
    it before the summary); piped, stderr holds the summary alone."""
    import os
    import pty
    import subprocess
    import sys

    from nbprod.cli.lint import PROGRESS_MINIMUM

    _tiny_notebooks(tmp_path / "nbs", PROGRESS_MINIMUM)
    command = [sys.executable, "-m", "nbprod", "lint", "--no-cache", "--no-ruff", "nbs"]
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=120) == 0
    os.close(leader)
    text = shown.decode("utf-8", "replace")
    assert "Linting" in text and f"{PROGRESS_MINIMUM}/{PROGRESS_MINIMUM}" in text
    assert text.rstrip().endswith(f"Found 0 findings in {PROGRESS_MINIMUM} notebooks.")
    piped = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert piped.stderr == f"Found 0 findings in {PROGRESS_MINIMUM} notebooks.\n"
