"""[tool.nbprod.pipeline] and building a pipeline from listed notebooks: errors before running."""

from __future__ import annotations

import pytest

from nbprod.config import load_project_config
from nbprod.errors import ConfigError, PipelineError
from nbprod.pipeline.build import build_pipeline
from nbprod.pipeline.config import load_pipeline_config, load_sweep_config

STEPS = """
[[tool.nbprod.pipeline.steps]]
name = "prepare"
notebook = "prepare.ipynb"
parameters = { rows = 10 }
outputs = ["data/clean.csv"]

[[tool.nbprod.pipeline.steps]]
name = "train"
notebook = "train.ipynb"
inputs = ["data/clean.csv"]
"""


@pytest.fixture
def project(tmp_path, notebook_factory):
    notebook_factory("prepare.ipynb",
                     {"source": "rows: int = 5\nwhen = today()", "tags": ["parameters"]},
                     "print(rows)")
    notebook_factory("train.ipynb", "print('train')")

    def write(table: str):
        (tmp_path / "pyproject.toml").write_text(
            "[tool.nbprod.pipeline]\nname = \"demo\"\n" + table)
        return load_project_config(tmp_path)

    return write


def test_steps_from_pyproject(project):
    proj = project(STEPS)
    source = build_pipeline(proj, load_pipeline_config(proj))
    pipeline = source.pipeline
    assert pipeline.name == "demo"
    assert [s.name for s in pipeline.steps] == ["prepare", "train"]
    prepare = pipeline.step("prepare")
    assert prepare.parameters == {"rows": 10}
    assert prepare.accepts == ("when",)  # a non-literal default is passed only when given
    assert prepare.outputs == ("data/clean.csv",)
    assert [p.name for p in pipeline.parameters] == ["rows", "when"]
    assert source.modules == {}


def test_unknown_step_parameter(project):
    proj = project(STEPS.replace("rows = 10", "rowz = 10"))
    with pytest.raises(PipelineError, match="unknown parameter 'rowz'.*did you mean 'rows'"):
        build_pipeline(proj, load_pipeline_config(proj))


def test_step_parameters_are_checked_before_anything_runs(project, run_cli, tmp_path,
                                                          notebook_factory):
    project(STEPS.replace("rows = 10", 'rows = "ten"'))
    result = run_cli("pipeline", "run", cwd=tmp_path)
    assert result.exit_code == 2
    assert "step 'prepare' (prepare.ipynb): parameter 'rows' expects int, got 'ten'" in (
        result.output)
    notebook_factory("needs.ipynb", {"source": "data: str", "tags": ["parameters"]}, "1")
    project('[[tool.nbprod.pipeline.steps]]\nname = "load"\nnotebook = "needs.ipynb"\n')
    result = run_cli("pipeline", "run", cwd=tmp_path)
    assert result.exit_code == 2
    assert "required parameter 'data' not given; pass -p data VALUE" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / ".nbprod").exists()  # no run was begun
    result = run_cli("pipeline", "status", "-p", "data", "x.csv", cwd=tmp_path)
    assert result.exit_code == 0, result.output


def test_missing_notebook(project):
    proj = project(STEPS.replace('"train.ipynb"', '"nope.ipynb"'))
    with pytest.raises(PipelineError, match="notebook 'nope.ipynb' does not exist"):
        build_pipeline(proj, load_pipeline_config(proj))


def test_notebook_outside_project(project):
    proj = project(STEPS.replace('"train.ipynb"', '"../train.ipynb"'))
    with pytest.raises(PipelineError, match="outside"):
        build_pipeline(proj, load_pipeline_config(proj))


def test_unknown_keys_and_missing_fields(project):
    proj = project(STEPS.replace("outputs =", "output ="))
    with pytest.raises(ConfigError, match="unknown key 'output'.*did you mean 'outputs'"):
        load_pipeline_config(proj)
    proj = project('[[tool.nbprod.pipeline.steps]]\nname = "x"\n')
    with pytest.raises(ConfigError, match="missing key 'notebook'"):
        load_pipeline_config(proj)
    proj = project('executor = "dsk"\n')
    with pytest.raises(ConfigError, match="unknown executor 'dsk'.*did you mean 'dask'"):
        load_pipeline_config(proj)


def test_no_pipeline_configured(project):
    proj = project("")
    with pytest.raises(PipelineError, match="no pipeline in"):
        build_pipeline(proj, load_pipeline_config(proj))


def test_sweep_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.sweep]\nmode = "zip"\n')
    proj = load_project_config(tmp_path)
    assert load_sweep_config(proj).mode == "zip"
    assert load_sweep_config(proj, mode="grid").mode == "grid"
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod.sweep]\nmode = "random"\n')
    with pytest.raises(ConfigError, match="mode must be 'grid' or 'zip'"):
        load_sweep_config(load_project_config(tmp_path))


def test_cli_errors_exit_2_without_traceback(project, run_cli, tmp_path):
    project(STEPS + '\n[[tool.nbprod.pipeline.steps]]\nname = "loop"\nnotebook = "train.ipynb"'
            '\nneeds = ["loop2"]\n[[tool.nbprod.pipeline.steps]]\nname = "loop2"\n'
            'notebook = "train.ipynb"\nneeds = ["loop"]\n')
    result = run_cli("pipeline", "show", cwd=tmp_path)
    assert result.exit_code == 2
    assert "the pipeline has a cycle" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / ".nbprod").exists()  # nothing written


def test_cli_show_formats(project, run_cli, tmp_path):
    project(STEPS)
    result = run_cli("pipeline", "show", cwd=tmp_path)
    assert result.exit_code == 0
    assert "train  (train.ipynb)  <- prepare" in result.output
    result = run_cli("pipeline", "show", "--output-format", "svg", "-o", tmp_path / "dag.svg",
                     cwd=tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "dag.svg").read_text().startswith("<svg")
    # --format, the option's old name, still works.
    result = run_cli("pipeline", "show", "--format", "mermaid", cwd=tmp_path)
    assert result.exit_code == 0 and result.output.startswith("flowchart TD")
    result = run_cli("pipeline", "run", "-p", "rowz", "3", cwd=tmp_path)
    assert result.exit_code == 2
    assert "unknown parameter 'rowz'" in result.output


def test_left_out_step_cells_are_said_and_explain_an_empty_pipeline(run_cli, notebook_factory,
                                                                    tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "left"\n')
    path = notebook_factory(
        "left.ipynb", {"source": "n: int = 3", "tags": ["parameters"]},
        {"source": "data = list(range(n))\n%cd /tmp", "tags": ["step:prepare"]},
        {"source": "total = sum(data)", "tags": ["step:train"]})
    result = run_cli("pipeline", "show", path, cwd=tmp_path)
    assert result.exit_code == 2
    assert "warning: left out: left.ipynb cell 2 (id 'c2'), line 2: IPython syntax" in result.output
    assert "every step cell was left out (see the warnings above" in result.output
