"""``[tool.nbprod.test]``: defaults, validation with clear errors, per-notebook parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbprod.errors import ConfigError
from nbprod.testing.config import TestConfig, load_test_config


def write_pyproject(folder: Path, table: str) -> None:
    (folder / "pyproject.toml").write_text(f"[tool.nbprod.test]\n{table}\n", encoding="utf-8")


def test_defaults_without_a_table(tmp_path):
    config, root = load_test_config(tmp_path)
    assert config == TestConfig()
    assert (config.mode, config.timeout, config.images) == ("run", 600, "skip")
    assert root == tmp_path


def test_values_and_overrides(tmp_path):
    write_pyproject(tmp_path, 'mode = "compare"\ntimeout = 30\nkernel = "python3"\nrtol = 0.01')
    config, _ = load_test_config(tmp_path, mode="run", timeout=None)
    assert (config.mode, config.timeout, config.kernel, config.rtol) == ("run", 30, "python3", 0.01)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('mdoe = "run"', "unknown key 'mdoe' (did you mean 'mode'?)"),
        ('mode = "strict"', "'mode' must be one of run, compare, got 'strict'"),
        ('images = "exact"', "'images' must be one of skip, loose"),
        ("timeout = 0", "must be positive"),
        ('timeout = "long"', "'timeout' must be int"),
        ('sanitizers = [{ regex = "(" }]', "sanitizer regex '(' is invalid"),
        ('sanitizers = ["x"]', "each sanitizer must be a table"),
        ('parameters = { "a.ipynb" = 3 }', "parameters for 'a.ipynb' must be a table"),
    ],
)
def test_invalid_tables_are_one_line_config_errors(tmp_path, table, message):
    write_pyproject(tmp_path, table)
    with pytest.raises(ConfigError) as caught:
        load_test_config(tmp_path)
    assert message in str(caught.value)
    assert "[tool.nbprod.test]" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_parameters_by_glob_later_tables_win(tmp_path):
    write_pyproject(
        tmp_path,
        "[tool.nbprod.test.parameters]\n"
        '"notebooks/*.ipynb" = { n = 10, label = "ci" }\n'
        '"train.ipynb" = { n = 5 }\n',
    )
    config, root = load_test_config(tmp_path)
    train = tmp_path / "notebooks" / "train.ipynb"
    assert config.parameters_for(train, root) == {"n": 5, "label": "ci"}
    eda = tmp_path / "notebooks" / "eda.ipynb"
    assert config.parameters_for(eda, root) == {"n": 10, "label": "ci"}
    assert config.parameters_for(tmp_path / "other" / "eda.ipynb", root) == {}


def test_exclude_globs(tmp_path):
    write_pyproject(tmp_path, 'exclude = ["scratch/*", "*-draft.ipynb"]')
    config, root = load_test_config(tmp_path)
    assert config.excludes(tmp_path / "scratch" / "a.ipynb", root)
    assert config.excludes(tmp_path / "nb" / "b-draft.ipynb", root)
    assert not config.excludes(tmp_path / "nb" / "b.ipynb", root)
