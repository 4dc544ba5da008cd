"""Where a cell's code is in the notebook file: the line and column of the JSON text.

Findings are placed within their cell (cell 3, line 2). GitHub annotations and SARIF know
nothing of cells and place a finding by the line of the file, and a notebook file is JSON:
Jupyter writes each line of a cell's source as one string of its ``source`` list, on a line
of its own. ``FileLines`` reads the file's JSON down to the cells' sources and the starts
of their outputs, and keeps where each line of each source starts; every other value
(outputs, metadata, cells no finding is in) is skipped whole by json's C scanner. Any
layout of valid JSON is understood (a source saved as one string, several lines in one
string, escapes before the column). A file that does not read as an nbformat 4 notebook
has no places: the renderers then keep the cell's own line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

__all__ = ["FileLines"]

_SPACE = re.compile(r"[ \t\n\r]*")
# An object's key, its colon and the space before its value.
_KEY = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"[ \t\n\r]*:[ \t\n\r]*', re.S)
# The space, comma or closing bracket and space after a value.
_AFTER = re.compile(r"[ \t\n\r]*([,}\]])[ \t\n\r]*")
# One escape in a JSON string: \uXXXX or a backslash and one character.
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)", re.S)
_SCAN = json.JSONDecoder().scan_once

# What a member or item handler returns: where the value it read ends, or None to have the
# value skipped.
_Handler = Callable[..., "int | None"]


@dataclass
class _SourceLine:
    """One line of a cell's source as the file holds it: the file line and column of its
    first character, and its escaped text (to turn a column of the code into one of the
    file)."""

    line: int
    column: int
    raw: str


@dataclass
class _Cell:
    lines: list[_SourceLine] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)  # the file line of each output's "{"
    # The source read so far ended a line ("\n"): the next character starts a new one.
    line_ended: bool = True


class FileLines:
    """The places of every cell's source lines and outputs in one notebook file's text."""

    def __init__(self, text: str, cells: Collection[int] | None = None):
        """Read ``text``, placing the cells numbered in ``cells`` (1-based; default all):
        the others are skipped whole, which is most of the work saved on a large file."""
        self._text = text
        self._wanted = cells
        self._counted = (0, 1)  # (offset, its line): places are found in file order
        self.cells: list[_Cell | None] = []
        try:
            self._object(self._space(0), self._notebook_member)
        except (ValueError, IndexError, StopIteration, RecursionError):
            self.cells = []  # not the JSON of an nbformat 4 notebook (or nested too deep)

    def place(self, cell: int | None, output: int | None, line: int,
              column: int) -> tuple[int, int] | None:
        """The file's (line, column) of ``line``:``column`` in cell ``cell`` (both 1-based),
        or of the start of output ``output`` of that cell; None when the file does not say."""
        if cell is None or not 0 < cell <= len(self.cells):
            return None
        found = self.cells[cell - 1]
        if found is None:
            return None
        if output is not None:
            if 0 < output <= len(found.outputs):
                return found.outputs[output - 1], 1
            return None
        if not found.lines:
            return None
        source = found.lines[min(max(line, 1), len(found.lines)) - 1]
        return source.line, source.column + _raw_length(source.raw, max(column, 1) - 1)

    # --- the parts of a notebook that are placed ----------------------------------------
    def _notebook_member(self, key: str, at: int) -> int | None:
        return self._array(at, self._cell) if key == "cells" else None

    def _cell(self, at: int) -> int | None:
        if self._wanted is not None and len(self.cells) + 1 not in self._wanted:
            self.cells.append(None)
            return None
        cell = _Cell()
        self.cells.append(cell)

        def member(key: str, value: int) -> int | None:
            if key == "source" and self._text[value] == "[":
                return self._array(value, lambda item: self._source_string(cell, item))
            if key == "source":
                return self._source_string(cell, value)
            if key == "outputs":
                return self._array(value, lambda item: cell.outputs.append(self._line(item)))
            return None

        return self._object(at, member)

    def _source_string(self, cell: _Cell, at: int) -> int:
        """Record the lines that start in one string of a source; return where it ends. A
        line that the previous string left open goes on in this one, and is placed where it
        started."""
        if self._text[at] != '"':
            raise ValueError("a source that is not text")
        end = self._skip(at)
        raw = self._text[at + 1:end - 1]
        line = self._line(at)
        column = at - (self._text.rfind("\n", 0, at) + 1) + 2  # after the quote, 1-based
        start = 0
        for newline in _newlines(raw):
            if cell.line_ended:
                cell.lines.append(_SourceLine(line, column + start, raw[start:newline]))
            cell.line_ended = True
            start = newline + 2
        if start < len(raw):
            if cell.line_ended:
                cell.lines.append(_SourceLine(line, column + start, raw[start:]))
            cell.line_ended = False
        return end

    # --- JSON, read where it matters and skipped elsewhere ------------------------------
    def _line(self, offset: int) -> int:
        """The 1-based line of an offset (never before the last one asked)."""
        counted, line = self._counted
        line += self._text.count("\n", counted, offset)
        self._counted = (offset, line)
        return line

    def _space(self, at: int) -> int:
        return _SPACE.match(self._text, at).end()

    def _skip(self, at: int) -> int:
        """The end of the JSON value at ``at``, read by json's C scanner."""
        return _SCAN(self._text, at)[1]

    def _object(self, at: int, member: _Handler) -> int:
        """Read the object at ``at``: ``member(key, offset of its value)`` for each member."""

        def one(at: int) -> int:
            key = _KEY.match(self._text, at)
            if key is None:
                raise ValueError("not a key")
            name, value = key.group(1), key.end()
            end = member(json.loads(f'"{name}"') if "\\" in name else name, value)
            return self._skip(value) if end is None else end

        return self._container(at, "{", "}", one)

    def _array(self, at: int, item: _Handler) -> int:
        """Read the array at ``at``: ``item(offset)`` for each of its values."""

        def one(at: int) -> int:
            end = item(at)
            return self._skip(at) if end is None else end

        return self._container(at, "[", "]", one)

    def _container(self, at: int, opening: str, closing: str,
                   one: Callable[[int], int]) -> int:
        """Read the object or array at ``at``, ``one(offset)`` reading each member or item
        and returning where it ends; returns where the container ends."""
        text = self._text
        if text[at] != opening:
            raise ValueError(f"not a {opening}")
        at = self._space(at + 1)
        if text[at] == closing:
            return at + 1
        while True:
            after = _AFTER.match(text, one(at))
            if after is None or after.group(1) not in (",", closing):
                raise ValueError(f"no comma between the parts of a {opening}")
            if after.group(1) == closing:
                return after.start(1) + 1
            at = after.end()


def _newlines(raw: str) -> list[int]:
    """Where the ``\\n`` escapes are in the escaped text of a string. Without an escaped
    backslash (``\\\\``), every backslash followed by ``n`` is one; with one, the escapes
    are read in order."""
    if "\\\\" not in raw:
        found, at = [], raw.find("\\n")
        while at >= 0:
            found.append(at)
            at = raw.find("\\n", at + 2)
        return found
    return [m.start() for m in _ESCAPE.finditer(raw) if m.group() == "\\n"]


def _raw_length(raw: str, characters: int) -> int:
    """How many characters of escaped text ``raw`` spell its first ``characters``
    characters once decoded (``\\"`` is two for one, ``\\u00e9`` six)."""
    position = 0
    for _ in range(characters):
        if position >= len(raw):
            return position
        if raw[position] == "\\":
            escape = _ESCAPE.match(raw, position)
            position = escape.end() if escape else position + 1
        else:
            position += 1
    return position
