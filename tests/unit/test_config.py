"""``[tool.nbprod]`` discovery and validation, through the lint table."""

from __future__ import annotations

import pytest

from nbprod.config import find_pyproject, load_project_config
from nbprod.errors import ConfigError
from nbprod.lint import LintConfig


def _project(tmp_path, text: str):
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    return tmp_path / "sub" / "deeper"


def test_nearest_pyproject_with_nbprod_table_wins(tmp_path):
    start = _project(tmp_path, "[tool.nbprod.lint]\nmax-cells = 5\n")
    (tmp_path / "sub" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_pyproject(start) == tmp_path / "pyproject.toml"
    project = load_project_config(start)
    assert project.root == tmp_path
    assert project.section("lint", LintConfig).max_cells == 5


def test_ceiling_stops_the_search(tmp_path, monkeypatch):
    start = _project(tmp_path, "[tool.nbprod.lint]\nmax-cells = 5\n")
    monkeypatch.setenv("NBPROD_CEILING_DIRECTORIES", str(tmp_path / "sub"))
    assert find_pyproject(start) is None
    assert load_project_config(start).section("lint", LintConfig) == LintConfig()


def test_cli_overrides_win_and_none_means_unset(tmp_path):
    project = load_project_config(_project(tmp_path, '[tool.nbprod.lint]\nselect = ["NB0"]\n'))
    config = project.section("lint", LintConfig, select=("F",), ignore=None)
    assert config.select == ("F",) and config.ignore == ()
    assert project.section("lint", LintConfig).select == ("NB0",)


def test_kebab_and_snake_case_keys(tmp_path):
    text = "[tool.nbprod.lint]\nmax-output-bytes = 10\nrequire_parameters = true\n"
    config = load_project_config(_project(tmp_path, text)).section("lint", LintConfig)
    assert config.max_output_bytes == 10 and config.require_parameters is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.nbprod.lint]\nselct = ['NB']\n", "unknown key 'selct' (did you mean 'select'?)"),
        ("[tool.nbprod.lnt]\n", "unknown table [tool.nbprod.lnt] (did you mean 'lint'?)"),
        ("[tool.nbprod.lint]\nmax-cells = 'many'\n", "'max-cells' must be int"),
        ("[tool.nbprod.lint]\nruff = 1\n", "'ruff' must be bool"),
        ("[tool.nbprod.lint]\nselect = 'NB'\n", "'select' must be a list"),
        ("[tool.nbprod.lint]\nexclude = [1]\n", "'exclude' must be a list of strings, got [1]"),
        ("[tool.nbprod.lint]\nrespect-gitignore = 'yes'\n", "'respect-gitignore' must be bool"),
        ("[tool.nbprod.lint]\nper-file-ignores = 3\n", "'per-file-ignores' must be a table"),
        ("[tool.nbprod]\nlint = 3\n", "[tool.nbprod.lint] must be a table"),
        ("[tool.nbprod.lint\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path, text, message):
    start = _project(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_project_config(start).section("lint", LintConfig)
    assert message in str(info.value)
    assert "pyproject.toml" in str(info.value)


def test_bad_config_through_cli_exits_2(run_cli, tmp_path):
    start = _project(tmp_path, "[tool.nbprod.lint]\nmax-cells = 'many'\n")
    result = run_cli("lint", start)
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output
