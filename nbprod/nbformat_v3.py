"""Upgrade an nbformat 3 notebook to nbformat 4.5, as plain JSON data, without nbformat.

Reading a notebook is on lint's hot path, once per notebook in each worker process; importing
nbformat for its converter costs more than linting a notebook (it imports jsonschema and its
format checkers). The conversion itself is small and fixed, since version 3 will never change:

- the cells of every worksheet, in order, become the notebook's ``cells``;
- a code cell's ``input`` becomes ``source``, ``prompt_number`` ``execution_count``,
  ``collapsed`` moves into its metadata, ``language`` goes;
- a heading cell becomes a markdown cell ``# text`` (one ``#`` per level, on one line); an
  html cell becomes a markdown cell;
- outputs: ``pyout`` becomes ``execute_result`` (``prompt_number`` its ``execution_count``),
  ``pyerr`` becomes ``error``, a stream's ``stream`` becomes ``name``; the data of results
  and displays moves under ``data`` with MIME types as keys (``png`` -> ``image/png``...),
  and JSON data given as text is parsed;
- the notebook's metadata loses ``name`` and ``signature`` and records
  ``orig_nbformat``/``orig_nbformat_minor``;
- every cell gets an id. Unlike nbformat, which draws random ids, they are derived from the
  cell's position (``cell-1``...), so that linting the same file twice sees the same notebook.

``tests/unit/test_nbformat_v3.py`` checks the result against nbformat's own converter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .errors import NotebookError

__all__ = ["MINOR", "upgrade"]

#: The nbformat 4 minor version an upgraded notebook has (the one with cell ids).
MINOR = 5

_MIME = {
    "text": "text/plain",
    "html": "text/html",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "latex": "text/latex",
    "json": "application/json",
    "javascript": "application/javascript",
}
_KEPT_IN_OUTPUT = {"output_type", "execution_count", "metadata"}


def upgrade(raw: dict, where: str, new: Callable[[], dict] = dict) -> dict:
    """``raw`` (an nbformat 3 notebook, changed in place) as an nbformat 4 notebook.

    ``new`` makes the JSON objects the upgrade adds, of the same type the reader made the
    others.

    Raises
    ------
    NotebookError
        When ``raw`` is not a well-formed version 3 notebook (naming the part at fault).
    """
    worksheets = raw.pop("worksheets", None)
    if not isinstance(worksheets, list) or not all(isinstance(w, dict) for w in worksheets):
        raise NotebookError(f"{where}: nbformat 3 notebook without a valid 'worksheets' list")
    cells = []
    for w_index, sheet in enumerate(worksheets):
        sheet_cells = sheet.get("cells", [])
        if not isinstance(sheet_cells, list) or not all(isinstance(c, dict)
                                                        for c in sheet_cells):
            raise NotebookError(f"{where}: worksheets[{w_index}].cells must be a list of objects")
        cells += sheet_cells
    metadata = raw.get("metadata")
    if not isinstance(metadata, dict):
        metadata = raw["metadata"] = new()
    metadata.pop("name", None)
    metadata.pop("signature", None)
    metadata["orig_nbformat"] = raw.pop("orig_nbformat", None) or 3
    metadata["orig_nbformat_minor"] = raw.pop("orig_nbformat_minor", None) or 0
    raw["nbformat"] = 4
    raw["nbformat_minor"] = MINOR
    raw["cells"] = [
        _cell(cell, f"cell-{index}", f"{where}: cell {index}", new)
        for index, cell in enumerate(cells, start=1)
    ]
    return raw


def _cell(cell: dict, cell_id: str, where: str, new: Callable[[], dict]) -> dict:
    if not isinstance(cell.get("metadata"), dict):
        cell["metadata"] = new()
    kind = cell.get("cell_type")
    if kind == "code":
        cell.pop("language", None)
        if "collapsed" in cell:
            cell["metadata"]["collapsed"] = cell.pop("collapsed")
        cell["source"] = cell.pop("input", "")
        cell["execution_count"] = cell.pop("prompt_number", None)
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise NotebookError(f"{where}: 'outputs' must be a list of objects")
        cell["outputs"] = [_output(output, where, new) for output in outputs]
    elif kind == "heading":
        level = cell.pop("level", 1)
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if not isinstance(level, int) or not isinstance(source, str):
            raise NotebookError(f"{where}: a heading cell needs a whole 'level' and text")
        cell["cell_type"] = "markdown"
        cell["source"] = "#" * level + " " + " ".join(source.splitlines())
    elif kind == "html":
        cell["cell_type"] = "markdown"
    cell["id"] = cell_id
    return cell


def _output(output: dict, where: str, new: Callable[[], dict]) -> dict:
    kind = output.get("output_type")
    if kind in ("pyout", "display_data"):
        if not isinstance(output.get("metadata"), dict):
            output["metadata"] = new()
        if kind == "pyout":
            output["output_type"] = "execute_result"
            output["execution_count"] = output.pop("prompt_number", None)
        data = new()
        for key in [k for k in output if k not in _KEPT_IN_OUTPUT]:
            data[_MIME.get(key, key)] = output.pop(key)
        for alias, mime in _MIME.items():
            if alias in output["metadata"]:
                output["metadata"][mime] = output["metadata"].pop(alias)
        found = data.get("application/json")
        if isinstance(found, list) and all(isinstance(line, str) for line in found):
            found = "".join(found)  # written as a list of lines, as all text in a file is
        if isinstance(found, str):
            data["application/json"] = _json_data(found, where)
        output["data"] = data
    elif kind == "pyerr":
        output["output_type"] = "error"
    elif kind == "stream":
        output["name"] = output.pop("stream", "stdout")
    return output


def _json_data(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise NotebookError(f"{where}: an output's JSON data is not valid JSON") from None
