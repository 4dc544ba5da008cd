"""Where generated files go: [tool.nbprod.export], defaults, and refused paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbprod.config import load_project_config
from nbprod.errors import ConfigError, PathError
from nbprod.export import ExportConfig
from nbprod.export.config import module_name_for, resolve_layout


def _layout(tmp_path: Path, nb: str = "nbs/Train Model.ipynb", default_exp=None, **config):
    return resolve_layout(tmp_path / nb, default_exp, ExportConfig(**config), tmp_path)


def test_defaults_without_a_project_name(tmp_path):
    layout = _layout(tmp_path)
    assert layout.notebook == "nbs/Train Model.ipynb"
    assert str(layout.module_path) == "train_model.py"
    assert str(layout.tests_path) == "tests/test_train_model.py"
    assert str(layout.pipeline_path) == "train_model_pipeline.py"
    assert str(layout.pipeline_json_path) == "train_model_pipeline.json"
    assert layout.module_import == "train_model"


def test_package_defaults_to_the_project_name_and_src_layout(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "My-Tools"\n')
    assert str(_layout(tmp_path).module_path) == "my_tools/train_model.py"
    (tmp_path / "src" / "my_tools").mkdir(parents=True)
    layout = _layout(tmp_path)
    assert str(layout.module_path) == "src/my_tools/train_model.py"
    assert layout.module_import == "my_tools.train_model"


def test_default_exp_and_config_keys(tmp_path):
    layout = _layout(tmp_path, default_exp="data.core", package="pkg", tests_dir="checks",
                     out_dir="build", pipeline_module="flow")
    assert str(layout.module_path) == "build/pkg/data/core.py"
    assert layout.module_import == "pkg.data.core"
    assert str(layout.tests_path) == "build/checks/test_data_core.py"
    assert layout.pipeline_import == "pkg.data.flow"


def test_config_comes_from_pyproject_with_kebab_keys(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod.export]\npackage = "lib"\ntests-dir = "t"\n')
    config = load_project_config(tmp_path).section("export", ExportConfig)
    assert config == ExportConfig(package="lib", tests_dir="t")
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.export]\npakage = "lib"\n')
    with pytest.raises(ConfigError, match="did you mean 'package'"):
        load_project_config(tmp_path).section("export", ExportConfig)


@pytest.mark.parametrize("key", ["package", "tests_dir", "out_dir"])
@pytest.mark.parametrize("value", ["../outside", "/abs/path", "C:/x", "a/../../b", "~/x"])
def test_paths_leaving_the_project_are_refused(tmp_path, key, value):
    with pytest.raises(PathError):
        _layout(tmp_path, **{key: value})


@pytest.mark.parametrize("module", ["1abc", "a-b", "class", "a..b", "../x"])
def test_invalid_module_names_are_refused(tmp_path, module):
    with pytest.raises(ConfigError, match="not a valid Python module name"):
        _layout(tmp_path, module=module)


def test_a_module_shadowing_the_standard_library_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="shadow the standard library"):
        _layout(tmp_path, nb="random.ipynb")
    assert str(_layout(tmp_path, nb="random.ipynb", package="pkg").module_path) == "pkg/random.py"


@pytest.mark.parametrize(
    ("name", "module"),
    [("01_core", "core"), ("Data Prep (v2)", "data_prep_v2"), ("2024", "notebook"),
     ("import", "import_")],
)
def test_module_names_from_file_names(name, module):
    assert module_name_for(name) == module


def test_exporters_are_looked_up_in_the_registry(tmp_path):
    import nbformat
    from notebook_builder import make_notebook

    from nbprod.export import export, exporter_registry
    from nbprod.notebook import loads

    assert exporter_registry.names() == ["module", "service", "steps", "tests"]
    nb = loads(nbformat.writes(make_notebook({"source": "x = 1", "tags": ["export"]})),
               path=tmp_path / "nb.ipynb")
    assert [a.kind for a in export(nb, ExportConfig(exporters=("module",)))] == ["module"]
    with pytest.raises(ConfigError, match="unknown exporter 'modul' \\(did you mean 'module'"):
        export(nb, ExportConfig(exporters=("modul",)))
