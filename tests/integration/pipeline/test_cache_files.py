"""Files between steps: a folder declared as an input, a file a step reads from another
step without declaring it, and a declared output the step never writes."""

from __future__ import annotations

import json

import pytest

from tests.integration.pipeline.conftest import write_notebook

pytestmark = pytest.mark.xdist_group("pipeline-files")


def _project(root, steps: str) -> None:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "files"\n\n[tool.nbprod.pipeline]\nname = "files"\n' + steps)


def _step(name: str, **fields) -> str:
    lines = [f'\n[[tool.nbprod.pipeline.steps]]\nname = "{name}"\nnotebook = "{name}.ipynb"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def _reasons(run_cli, root):
    result = run_cli("pipeline", "status", "--output-format", "json", cwd=root)
    assert result.exit_code == 0, result.output
    return {s["name"]: s["reason"] for s in json.loads(result.stdout)}


def _run(run_cli, root, code=0):
    result = run_cli("pipeline", "run", "--max-parallel", "1", "--output-format", "json",
                     cwd=root)
    assert result.exit_code == code, result.output
    return {s["name"]: s["status"] for s in json.loads(result.stdout)["steps"]}


def test_a_file_read_from_an_earlier_step_ties_the_steps_together(tmp_path, run_cli):
    _project(tmp_path, _step("a", outputs=["out.txt"]) + _step("b"))
    write_notebook(tmp_path / "a.ipynb", "open('out.txt', 'w').write('1')")
    write_notebook(tmp_path / "b.ipynb", "value = open('out.txt').read()")
    assert _run(run_cli, tmp_path) == {"a": "succeeded", "b": "succeeded"}
    assert _reasons(run_cli, tmp_path) == {"a": None, "b": None}
    write_notebook(tmp_path / "a.ipynb", "open('out.txt', 'w').write('2')")
    reasons = _reasons(run_cli, tmp_path)
    assert reasons["b"].startswith("it read out.txt, which step 'a' writes and will run again")
    assert _run(run_cli, tmp_path) == {"a": "succeeded", "b": "succeeded"}
    assert _run(run_cli, tmp_path) == {"a": "cached", "b": "cached"}


def test_a_declared_folder_is_hashed_by_its_files(tmp_path, run_cli):
    _project(tmp_path, 'pinned = ["d"]\n' + _step("d", inputs=["raw"]))
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.txt").write_text("1\n")
    write_notebook(tmp_path / "d.ipynb", "import subprocess\nrows = subprocess.run(['cat',"
                   " 'raw/a.txt'], capture_output=True, text=True).stdout")
    assert _run(run_cli, tmp_path) == {"d": "succeeded"}
    assert _reasons(run_cli, tmp_path) == {"d": None}
    (tmp_path / "raw" / "a.txt").write_text("2\n")
    assert _reasons(run_cli, tmp_path) == {"d": "input raw changed"}
    (tmp_path / "raw" / "a.txt").write_text("1\n")
    (tmp_path / "raw" / "b.txt").write_text("new\n")
    assert _reasons(run_cli, tmp_path) == {"d": "input raw changed"}


def test_a_declared_output_the_step_does_not_write_fails_the_step(tmp_path, run_cli):
    _project(tmp_path, _step("a", outputs=["out.txt", "never.txt"]))
    write_notebook(tmp_path / "a.ipynb", "open('out.txt', 'w').write('1')")
    result = run_cli("pipeline", "run", "--max-parallel", "1", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert "it did not write 'never.txt', which it declares in outputs" in result.output
    assert _reasons(run_cli, tmp_path)["a"] is not None  # never cached
