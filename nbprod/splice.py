"""Saving an edited notebook by rewriting only the cells that changed.

A fix or a tag edits a few cells; the file should change there and nowhere else, whoever
wrote it: Jupyter (sorted keys, one-space indent, sources as lists of lines), Kaggle or
Colab (one line, sources as strings), an editor on Windows (CRLF), a tool that escapes every
non-ASCII character. Serialising the whole notebook again would impose one layout on every
cell and turn a one-line fix into a diff of the whole file.

``splice`` finds where each cell, and each other top-level value, lies in the text as read
(``json``'s decoder reports where a value ends), matches the edited cells against the
originals, copies the unchanged ones byte for byte and writes the changed ones in the
layout of the cell they replace. When the edit is not one it can place (the top-level keys
differ, a notebook without cells, a text that is not the one the notebook was read from),
it answers None and the caller serialises the whole notebook.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["splice"]

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_SPACE_IN_LINE = re.compile(r"[ \t]*")
# An escaped character outside ASCII: the writer chose ``ensure_ascii``.
_ESCAPED = re.compile(r"\\u(?:00[89a-fA-F]|0[1-9a-fA-F]|[1-9a-fA-F])")


class _Unplaceable(Exception):
    """The text does not have the shape this module can edit in place."""


def splice(text: str, node: dict, split_lines: Callable[[dict], dict]) -> str | None:
    """``text`` (a notebook's file as read) with the cells and top-level values that differ
    in ``node`` (the edited notebook) rewritten; None when the edit cannot be placed.

    ``split_lines`` turns one cell's joined texts into lists of lines (Jupyter's layout),
    for a changed cell whose original stored its source that way.
    """
    try:
        top = _top_level(text)
        if list(top) != list(node) or "cells" not in top:
            return None
        style = _Style.of(text)
        pieces = _cell_pieces(text, top["cells"][:2], node["cells"], style, split_lines)
    except (_Unplaceable, ValueError):
        return None
    for key, (start, end, value) in top.items():
        if key != "cells" and _canonical(value) != _canonical(node[key]):
            pieces.append((start, end, style.dump(node[key], text, start, sort=_sorted(value))))
    out, position = [], 0
    for start, end, replacement in sorted(pieces):
        out += [text[position:start], replacement]
        position = end
    out.append(text[position:])
    return "".join(out)


def _cell_pieces(text: str, cells_span: tuple[int, int], cells: list, style: _Style,
                 split_lines: Callable[[dict], dict]) -> list[tuple[int, int, str]]:
    """The replacements inside the ``cells`` array: changed cells in place, removed cells
    cut with the separator before them (after them for the first)."""
    start, end = cells_span
    spans = _array_items(text, start, end)
    if not spans:
        raise _Unplaceable("no cells to take the layout from")
    originals = [value for _s, _e, value in spans]
    old_keys = [_canonical(cell, drop_id=True) for cell in originals]
    new_keys = [_canonical(cell, drop_id=True) for cell in cells]
    pieces: list[tuple[int, int, str]] = []
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                cell_start, cell_end, original = spans[i1 + offset]
                edited = _as_written(cells[j1 + offset], original, split_lines)
                pieces.append((cell_start, cell_end,
                               style.dump(edited, text, cell_start, sort=_sorted(original))))
        elif tag == "delete":
            pieces.append(_cut(spans, i1, i2, end))
        else:
            raise _Unplaceable("cells inserted")  # no fix inserts cells
    return pieces


def _cut(spans: list, first: int, last: int, array_end: int) -> tuple[int, int, str]:
    """The text to remove for the cells ``first``..``last - 1``, with one separator."""
    if first > 0:
        return spans[first - 1][1], spans[last - 1][1], ""
    if last < len(spans):
        return spans[0][0], spans[last][0], ""
    # Every cell removed: from the first one to the end of the last, and the space between
    # the last one and the closing bracket.
    return spans[0][0], array_end - 1, ""


def _as_written(cell: dict, original: dict, split_lines: Callable[[dict], dict]) -> dict:
    """The edited cell with the original's id (repaired in memory, never on disk) and its
    way of storing texts: lists of lines, or strings."""
    cell = copy.deepcopy(cell)
    if "id" in original:
        cell["id"] = original["id"]
    else:
        cell.pop("id", None)
    if isinstance(original.get("source"), list):
        cell = split_lines(cell)
    return cell


def _canonical(value: Any, *, drop_id: bool = False) -> str:
    """A text that is the same for the same content, however its texts are split."""
    if isinstance(value, dict) and "cell_type" in value:
        value = dict(value)
        if drop_id:
            value.pop("id", None)
        if isinstance(value.get("source"), list):
            value["source"] = "".join(value["source"])
        if isinstance(value.get("outputs"), list):
            value["outputs"] = [
                {**out, "text": "".join(out["text"])}
                if isinstance(out, dict) and isinstance(out.get("text"), list) else out
                for out in value["outputs"]
            ]
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _sorted(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == sorted(value)


class _Style:
    """How the file is written: indentation, separators, line endings, escapes."""

    def __init__(self, indent: int | None, separators: tuple[str, str], newline: str,
                 ascii_only: bool):
        self.indent = indent
        self.separators = separators
        self.newline = newline
        self.ascii_only = ascii_only

    @classmethod
    def of(cls, text: str) -> _Style:
        match = re.search(r"\n( +)\"", text[:4000])
        if match is None and "\n" in text.strip():
            raise _Unplaceable("indented with tabs or unusually")
        indent = len(match.group(1)) if match else None
        compact = re.search(r"\"\s*:\s", text[:4000]) is None
        separators = (",", ":") if compact and indent is None else (
            ("," if indent is not None else ", "), ": ")
        newline = "\r\n" if "\r\n" in text[:4000] else "\n"
        ascii_only = text.isascii() and _ESCAPED.search(text) is not None
        return cls(indent, separators, newline, ascii_only)

    def dump(self, value: Any, text: str, start: int, *, sort: bool) -> str:
        """``value`` as the file writes a value that starts at ``start``."""
        written = json.dumps(value, indent=self.indent, separators=self.separators,
                             ensure_ascii=self.ascii_only, sort_keys=sort)
        if self.indent is None:
            return written
        # Nested lines are indented from the line the value starts on ('  {' for a cell,
        # ' "metadata": {' for a top-level value).
        line_start = text.rfind("\n", 0, start) + 1
        margin = _SPACE_IN_LINE.match(text, line_start).group()
        return written.replace("\n", self.newline + margin)


def _top_level(text: str) -> dict[str, tuple[int, int, Any]]:
    """Each top-level key of the JSON object in ``text``: where its value starts and ends,
    and the value."""
    position = _SPACE.match(text, 0).end()
    if text[position:position + 1] != "{":
        raise _Unplaceable("not an object")
    found: dict[str, tuple[int, int, Any]] = {}
    position += 1
    while True:
        position = _SPACE.match(text, position).end()
        if text[position:position + 1] == "}":
            return found
        key, position = _DECODER.raw_decode(text, position)
        position = _SPACE.match(text, position).end()
        if text[position:position + 1] != ":":
            raise _Unplaceable("no colon")
        position = _SPACE.match(text, position + 1).end()
        value, end = _DECODER.raw_decode(text, position)
        if key in found:
            raise _Unplaceable("a key written twice")
        found[key] = (position, end, value)
        position = _SPACE.match(text, end).end()
        if text[position:position + 1] == ",":
            position += 1


def _array_items(text: str, start: int, end: int) -> list[tuple[int, int, Any]]:
    """Where each item of the JSON array between ``start`` and ``end`` lies, and its value."""
    items = []
    position = _SPACE.match(text, start + 1).end()
    while position < end - 1:
        value, item_end = _DECODER.raw_decode(text, position)
        items.append((position, item_end, value))
        position = _SPACE.match(text, item_end).end()
        if text[position:position + 1] == ",":
            position = _SPACE.match(text, position + 1).end()
    return items
