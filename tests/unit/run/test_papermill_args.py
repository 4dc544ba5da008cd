"""papermill's parameter options on ``nbprod run``: merged in papermill's order."""

from __future__ import annotations

import base64

import click
import pytest

from nbprod.cli.papermill_args import merge_parameters, output_target
from nbprod.errors import ParameterError, PathError


def test_sources_merge_in_papermills_order(tmp_path):
    file = tmp_path / "p.yaml"
    file.write_text("a: 1\nb: 1\nc: 1\nd: 1\n")
    encoded = base64.b64encode(b"a: 0\nb: 0\nc: 0\nd: 0\ne: 0\n").decode()
    values, texts = merge_parameters(
        params=(("c", "3"), ("d", "3")), raw_params=(("d", "4"),), files=(file,),
        yaml_texts=("b: 2\nc: 2\nd: 2",), base64_texts=(encoded,))
    assert values == {"a": 1, "b": 2, "c": "3", "d": "4", "e": 0}
    assert texts == {"c"}  # -p text is parsed; -r text stays text; YAML values are data


@pytest.mark.parametrize(("yaml_text", "fragment"), [
    ("[1, 2]", "^-y value 1: must be a YAML mapping"),
    ("a: [", "^-y value 1, line 1: not valid YAML; fix it$")])
def test_bad_yaml_is_a_parameter_error(yaml_text, fragment):
    with pytest.raises(ParameterError, match=fragment):
        merge_parameters((), (), (), (yaml_text,), ())


def test_bad_base64_is_a_parameter_error():
    with pytest.raises(ParameterError, match="not base64"):
        merge_parameters((), (), (), (), ("not*base64",))


def test_output_target(tmp_path):
    assert output_target("out.ipynb", None).name == "out.ipynb"
    with pytest.raises(PathError, match="the folder .*typo/sub does not exist; create it first"):
        output_target(str(tmp_path / "typo" / "sub" / "out.ipynb"), None)
    assert not (tmp_path / "typo").exists()
    assert output_target(None, "o.ipynb").name == "o.ipynb"
    assert output_target(None, None) is None
    with pytest.raises(click.UsageError):
        output_target("a.ipynb", "b.ipynb")
    for remote in ("s3://bkt/out.ipynb", "gs://b/o.ipynb", "-"):
        with pytest.raises(PathError):
            output_target(remote, None)


@pytest.mark.parametrize("option", ["--prepare-only", "--engine", "--inject-paths", "-l"])
def test_papermill_only_options_are_named_with_what_to_do(run_cli, tmp_path, option):
    args = [option] if option in ("--prepare-only", "--inject-paths") else [option, "x"]
    result = run_cli("run", tmp_path / "in.ipynb", "out.ipynb", *args)
    assert result.exit_code == 2
    assert f"{option} is a papermill option nbprod run does not take" in result.output
    assert "docs/migration.md" in result.output


def test_a_raw_value_for_a_typed_parameter_says_that_r_keeps_text(run_cli, tmp_path,
                                                                  notebook_factory):
    path = notebook_factory("nb.ipynb", {"source": "n: int = 3", "tags": ["parameters"]})
    result = run_cli("run", path, "-r", "n", "5")
    assert result.exit_code == 2
    assert ("parameter 'n' expects int, got '5' (-r keeps a value as text; pass -p n VALUE to"
            " read it as int)") in result.output
