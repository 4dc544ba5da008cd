"""nbprod's nbformat 3 -> 4 upgrade gives what nbformat's own reader and converter give (cell
ids aside) on a file written with nbformat's own v3 API, and it is valid nbformat 4.5."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from nbformat import v3

from nbprod.errors import NotebookError
from nbprod.nbformat_v3 import MINOR, upgrade
from nbprod.notebook import load

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
       "RU5ErkJggg==")


def _every_kind() -> str:
    """A file with one of each cell and output kind version 3 has, over two worksheets,
    as nbformat's v3 writer writes it (multi-line text as lists of lines)."""
    first = v3.new_worksheet(cells=[
        v3.new_heading_cell("A title\nover two lines", level=2),
        v3.new_text_cell("markdown", "Some *text*"),
        v3.new_code_cell(
            input="x = 1\nx", prompt_number=3, collapsed=True,
            outputs=[
                v3.new_output("pyout", output_text="1", output_html="<b>1</b>",
                              output_latex="$1$", prompt_number=3,
                              metadata={"png": {"width": 10}}),
                v3.new_output("display_data", output_png=PNG, output_svg="<svg/>",
                              output_jpeg=PNG, output_javascript="alert(1)",
                              output_json='{"a": [1, 2]}'),
                v3.new_output("stream", output_text="hello\n", stream="stderr"),
                v3.new_output("pyerr", ename="ValueError", evalue="bad",
                              traceback=["Traceback", "ValueError: bad"]),
            ]),
        v3.new_code_cell(input="import os\nos.getcwd()", prompt_number=None),
    ])
    second = v3.new_worksheet(cells=[
        v3.new_text_cell("raw", "raw text"),
        v3.new_heading_cell("Deep", level=4),
        v3.new_code_cell(input="print('more')", outputs=[
            v3.new_output("stream", output_text="more\n")]),
    ])
    nb = v3.new_notebook(name="every kind", worksheets=[first, second],
                         metadata=v3.new_metadata(name="every kind"))
    nb.metadata.signature = "sha256:0"
    nb.metadata.kernelspec = {"name": "python2", "display_name": "Python 2"}
    return v3.writes_json(nb)


def _comparable(node: dict) -> dict:
    """Without cell ids, and with text kept as lists of lines joined (nbformat's reader
    joins them, nbprod's cell views do)."""
    node = json.loads(json.dumps(node))
    for cell in node["cells"]:
        cell.pop("id")
        cell["source"] = _joined(cell["source"])
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _joined(output["text"])
            output["data"] = {k: _joined(v) for k, v in output.get("data", {}).items()}
    return node


def _joined(value):
    return "".join(value) if isinstance(value, list) else value


def test_every_kind_matches_nbformats_reader_and_converter():
    text = _every_kind()
    theirs = nbformat.reads(text, as_version=4)
    ours = upgrade(json.loads(text), "nb.ipynb")
    assert _comparable(ours) == _comparable(theirs)
    assert theirs["nbformat_minor"] == MINOR


def test_the_upgrade_is_valid_nbformat_4_5_with_ids_from_positions():
    ours = upgrade(json.loads(_every_kind()), "nb.ipynb")
    nbformat.validate(nbformat.from_dict(ours), version=4, version_minor=MINOR)
    assert [cell["id"] for cell in ours["cells"]] == [f"cell-{i}" for i in range(1, 8)]
    assert ours["cells"][0]["source"] == "## A title over two lines"
    assert ours["cells"][2]["outputs"][1]["data"]["application/json"] == {"a": [1, 2]}


def test_loading_a_v3_file_upgrades_it_the_same_way(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(_every_kind(), encoding="utf-8")
    with pytest.warns(match="nbformat 3 notebook upgraded"):
        nb = load(path)
    assert [c.source for c in nb.cells][:3] == [
        "## A title over two lines", "Some *text*", "x = 1\nx"]
    assert nb.node["metadata"]["orig_nbformat"] == 3


@pytest.mark.parametrize(("raw", "message"), [
    ({"nbformat": 3, "worksheets": {}}, "'worksheets' list"),
    ({"nbformat": 3, "worksheets": [{"cells": [1]}]}, "worksheets[0].cells"),
    ({"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "outputs": 3}]}]},
     "cell 1: 'outputs' must be a list"),
    ({"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "heading", "level": "2"}]}]},
     "cell 1: a heading cell needs"),
    ({"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "json": "{not json"}]}]}]},
     "cell 1: an output's JSON data is not valid JSON"),
])
def test_malformed_v3_gets_one_line_naming_the_part(raw, message):
    with pytest.raises(NotebookError, match=f"^nb.ipynb: .*{re.escape(message)}"):
        upgrade(raw, "nb.ipynb")
