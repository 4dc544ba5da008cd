"""Where a cell's code is in the notebook file, for GitHub annotations and SARIF."""

from __future__ import annotations

import json

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint.file_lines import FileLines


def file_text_at(text: str, place: tuple[int, int], length: int) -> str:
    line, column = place
    return text.split("\n")[line - 1][column - 1:column - 1 + length]


def test_each_source_line_is_placed_where_jupyter_writes_it():
    nb = make_notebook("import os\nprint(os.sep)", "x = 1\n\ny = 'a\"b'  # é")
    text = nbformat.writes(nb)
    places = FileLines(text)

    assert file_text_at(text, places.place(1, None, 2, 1), 5) == "print"
    assert file_text_at(text, places.place(1, None, 2, 7), 6) == "os.sep"
    assert file_text_at(text, places.place(2, None, 3, 1), 1) == "y"
    # A column after an escaped quote: the file spells `"` as two characters.
    assert file_text_at(text, places.place(2, None, 3, 8), 1) == "b"
    assert file_text_at(text, places.place(2, None, 3, 14), 1) == "é"


def test_escapes_and_other_layouts_of_valid_json():
    nb = make_notebook("a = 'é'\nb = 2\nc = 3")
    compact = json.dumps(nbformat.from_dict(nb), ensure_ascii=True)  # one line, \u00e9
    cell = json.loads(compact)
    cell["cells"][0]["source"] = "a = 'é'\nb = 2\nc = 3"  # one string, not a list
    single = json.dumps(cell, indent=2, ensure_ascii=True)

    for text in (compact, single):
        places = FileLines(text)
        assert file_text_at(text, places.place(1, None, 1, 7), 1) == "'"
        assert file_text_at(text, places.place(1, None, 3, 1), 5) == "c = 3"


def test_a_line_split_over_two_strings_is_placed_where_it_starts():
    nb = nbformat.from_dict(make_notebook("x"))
    data = json.loads(nbformat.writes(nb))
    data["cells"][0]["source"] = ["total = (1 +", " 2)\n", "done = True"]
    text = json.dumps(data, indent=1)
    places = FileLines(text)
    assert file_text_at(text, places.place(1, None, 1, 1), 5) == "total"
    assert file_text_at(text, places.place(1, None, 2, 1), 4) == "done"


def test_outputs_are_placed_at_their_first_line():
    nb = make_notebook({"source": "1/0", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "before\n"},
        {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "", "traceback": []},
    ]})
    text = nbformat.writes(nb)
    line, column = FileLines(text).place(1, 2, 1, 1)
    assert column == 1
    assert text.split("\n")[line - 1].strip() == "{"
    assert '"ename"' in "\n".join(text.split("\n")[line:line + 3])


@pytest.mark.parametrize("text", [
    "{not json",
    '{"cells": {"a": 1}}',
    '{"nbformat": 3, "worksheets": [{"cells": [{"input": "x"}]}]}',
    '{"cells": [{"source": 12}]}',
    '{"cells": [{"metadata": ' + "[" * 100_000 + "]" * 100_000 + ', "source": "x"}]}',
], ids=["not-json", "cells-not-a-list", "nbformat-3", "source-not-text", "nested-too-deep"])
def test_a_file_that_is_not_an_nbformat_4_notebook_has_no_places(text):
    assert FileLines(text).place(1, None, 1, 1) is None


def test_a_cell_or_output_the_file_lacks_has_no_place():
    places = FileLines(nbformat.writes(make_notebook("x = 1", {"source": "", "outputs": []})))
    assert places.place(3, None, 1, 1) is None
    assert places.place(1, 1, 1, 1) is None
    assert places.place(2, None, 1, 1) is None  # an empty source has no line to point at
    assert places.place(None, None, 1, 1) is None


def test_only_the_cells_asked_for_are_placed():
    text = nbformat.writes(make_notebook("a = 1", "b = 2", "c = 3"))
    places = FileLines(text, cells={2})
    assert places.place(1, None, 1, 1) is None and places.place(3, None, 1, 1) is None
    assert file_text_at(text, places.place(2, None, 1, 1), 5) == "b = 2"
