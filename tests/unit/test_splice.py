"""Saving an edited notebook changes the edited cells and nothing else, in any layout."""

from __future__ import annotations

import json

import pytest

from nbprod.notebook import dumps, loads
from nbprod.splice import splice


def _cells(*sources: str) -> list[dict]:
    return [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": source} for source in sources]


def _notebook(cells: list[dict], minor: int = 4) -> dict:
    kernel = {"display_name": "Python 3", "name": "python3"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4,
            "nbformat_minor": minor}


def _edit_second_cell(text: str) -> tuple[str, str]:
    nb = loads(text)
    nb.node["cells"][1]["source"] = "x = 2  # été"
    return text, dumps(nb)


def _changed_region(before: str, after: str) -> tuple[str, str]:
    """The parts of ``before`` and ``after`` between their common start and common end."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    return before[start:len(before) - end], after[start:len(after) - end]


KAGGLE = json.dumps(_notebook(_cells("import os", "x = 1", "print(x)")), separators=(",", ":"))
JUPYTER = json.dumps(_notebook([{**c, "source": [c["source"]]} for c in _cells(
    "import os", "x = 1", "print(x)")]), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
WINDOWS = JUPYTER.replace("\n", "\r\n")
ESCAPED = json.dumps(_notebook(_cells("s = 'café'", "x = 1", "print(x)")), indent=2)


@pytest.mark.parametrize("text", [KAGGLE, JUPYTER, WINDOWS, ESCAPED],
                         ids=["minified", "jupyter", "crlf", "escaped"])
def test_an_unchanged_notebook_is_written_back_byte_for_byte(text):
    assert dumps(loads(text)) == text


def test_a_minified_file_changes_in_the_edited_cell_only_and_stays_on_one_line():
    before, after = _edit_second_cell(KAGGLE)
    assert _changed_region(before, after) == ("1", "2  # été")
    assert "\n" not in after


def test_a_jupyter_file_keeps_its_layout_for_the_edited_cell():
    before, after = _edit_second_cell(JUPYTER)
    assert _changed_region(before, after) == ("1", "2  # été")


def test_crlf_line_endings_stay_crlf():
    nb = loads(WINDOWS)
    nb.node["cells"][1]["source"] = "x = 2\ny = 3"
    after = dumps(nb)
    assert "\n" not in after.replace("\r\n", "")
    assert json.loads(after)["cells"][1]["source"] == ["x = 2\n", "y = 3"]


def test_a_file_that_escapes_non_ascii_gets_the_edited_cell_escaped_too():
    before, after = _edit_second_cell(ESCAPED)
    assert after.isascii() and "caf\\u00e9" in after
    assert _changed_region(before, after) == ("1", "2  # \\u00e9t\\u00e9")


@pytest.mark.parametrize("removed", [0, 1, 2])
def test_a_removed_cell_takes_one_separator_with_it(removed):
    for text, write in ((KAGGLE, lambda nb: json.dumps(nb, separators=(",", ":"))),
                        (JUPYTER, lambda nb: json.dumps(nb, indent=1, sort_keys=True) + "\n")):
        nb = loads(text)
        del nb.node["cells"][removed]
        expected = json.loads(text)
        del expected["cells"][removed]
        assert dumps(nb) == write(expected)


def test_removing_every_cell_leaves_an_empty_list():
    nb = loads(JUPYTER)
    nb.node["cells"].clear()
    assert json.loads(dumps(nb))["cells"] == []


def test_ids_repaired_in_memory_stay_as_they_were_on_disk():
    cells = _cells("a = 1", "b = 2", "c = 3")
    for cell in cells:
        cell["id"] = "same"
    text = json.dumps(_notebook(cells, minor=5), indent=1)
    with pytest.warns(UserWarning, match="repaired in memory"):
        nb = loads(text)
    assert [c["id"] for c in nb.node["cells"]][1:] != ["same", "same"]  # repaired in memory
    nb.node["cells"][2]["source"] = "c = 4"
    after = json.loads(dumps(nb))
    assert [c["id"] for c in after["cells"]] == ["same", "same", "same"]
    assert after["cells"][2]["source"] == "c = 4"


def test_a_changed_top_level_value_is_rewritten_at_its_own_depth():
    nb = loads(JUPYTER)
    nb.node["metadata"]["kernelspec"]["display_name"] = "Python 3 (ipykernel)"
    after = dumps(nb)
    assert json.loads(after)["metadata"]["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)", "name": "python3"}
    assert '\n  "kernelspec": {\n   "display_name": "Python 3 (ipykernel)",\n' in after
    assert after.endswith('"nbformat_minor": 4\n}\n')


def test_an_edit_it_cannot_place_falls_back_to_a_whole_serialisation():
    nb = loads(JUPYTER)
    nb.node["cells"].append(dict(nb.node["cells"][0]))
    assert splice(JUPYTER, nb.node, lambda cell: cell) is None
    assert len(json.loads(dumps(nb))["cells"]) == 4
