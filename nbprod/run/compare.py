"""Comparing the outputs of two executions of a notebook, tolerating what legitimately varies.

Used by ``nbprod reproduce`` (and reusable by the pytest plugin). Before comparing, text is
normalised: memory addresses (``0x7f3a...``), timestamps, UUIDs and temporary paths are
replaced by placeholders. Then numbers are compared with a tolerance
(``|a - b| <= atol + rtol * |b|``) while everything around them must match exactly. Integers
compare exactly; a number written with a decimal point or exponent on either side uses the
tolerance. stderr streams (warnings) and image bytes are not compared; an image must still be
there.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from typing import Any

__all__ = ["Difference", "Tolerance", "compare_notebooks", "excerpts", "first_difference",
           "normalise", "texts_match"]

INJECTED_TAG = "injected-parameters"

_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
     "<UUID>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                r"(?:Z|[+-]\d{2}:?\d{2})?"), "<TIMESTAMP>"),
    (re.compile(r"\b0x[0-9a-fA-F]{4,}\b"), "0xADDR"),
]
_NUMBER = re.compile(r"(?<![\w.])([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf)(?![\w])")


@dataclass(frozen=True)
class Tolerance:
    """How far numbers may drift: ``|a - b| <= atol + rtol * |b|`` (NumPy's ``isclose``)."""

    rtol: float = 1e-5
    atol: float = 1e-8


@dataclass(frozen=True)
class Difference:
    """The first place two executions disagree."""

    cell: int | None  # 1-based position in the input notebook (injected cell not counted)
    cell_id: str | None
    reason: str
    expected: str = ""
    actual: str = ""
    #: Quote the texts around where they first differ (outputs); False quotes them whole
    #: (two runs' error messages, which differ from their first word).
    locate: bool = True
    #: Where the texts first differ (offsets into each normalised text), as found with the
    #: comparison's tolerance; None: found again with the default tolerance.
    offsets: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        if self.cell is None:
            return "the run as a whole"  # a difference no cell holds (an interrupted run)
        return f"cell {self.cell}" + (f" (id {self.cell_id!r})" if self.cell_id else "")

    def message(self) -> str:
        text = f"{self.label}: {self.reason}"
        if not (self.expected or self.actual):
            return text
        if not self.locate:
            return text + f": expected {_short(self.expected)!r}, got {_short(self.actual)!r}"
        line, column, expected, actual = excerpts(self.expected, self.actual,
                                                  offsets=self.offsets)
        whole = expected == normalise(self.expected) and actual == normalise(self.actual)
        if not whole or "\n" in self.expected.rstrip("\n") or "\n" in self.actual.rstrip("\n"):
            text += f" at line {line}, column {column}"
        return text + f": expected {expected!r}, got {actual!r}"

    def to_dict(self) -> dict:
        return {"cell": self.cell, "cell_id": self.cell_id, "reason": self.reason,
                "expected": self.expected, "actual": self.actual, "message": self.message()}


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_difference(expected: str, actual: str,
                     tolerance: Tolerance = Tolerance()) -> tuple[int, int]:
    """Where two texts first disagree as ``texts_match`` sees them: the offsets into
    ``normalise(expected)`` and ``normalise(actual)`` (numbers within the tolerance agree)."""
    left = _NUMBER.split(normalise(expected))
    right = _NUMBER.split(normalise(actual))
    a_at = b_at = 0
    for position, (a, b) in enumerate(zip(left, right, strict=False)):
        if position % 2 == 0:
            if a != b:
                common = len(_common_prefix(a, b))
                return a_at + common, b_at + common
        elif not _numbers_match(a, b, tolerance):
            return a_at, b_at
        a_at, b_at = a_at + len(a), b_at + len(b)
    return a_at, b_at


def _common_prefix(a: str, b: str) -> str:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return a[:size]


def excerpts(expected: str, actual: str, context: int = 30,
             offsets: tuple[int, int] | None = None) -> tuple[int, int, str, str]:
    """The line and column (1-based) where two texts first differ, and each text around
    that place: up to ``context`` characters either side, cut ends marked ``...``. Texts
    are quoted normalised (timestamps as ``<TIMESTAMP>``...), as they were compared.
    ``offsets``: where they differ, when already known (``first_difference``)."""
    left, right = normalise(expected), normalise(actual)
    a_at, b_at = offsets if offsets is not None else first_difference(expected, actual)
    line = left.count("\n", 0, a_at) + 1
    column = a_at - left.rfind("\n", 0, a_at)
    return line, column, _around(left, a_at, context), _around(right, b_at, context)


def _around(text: str, at: int, context: int) -> str:
    start, end = max(0, at - context), min(len(text), at + context)
    if start:  # begin at a line's start when one is in reach, not mid-word
        newline = text.find("\n", start, at)
        start = newline + 1 if newline != -1 else start
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def _temp_patterns() -> list[re.Pattern[str]]:
    roots = {"/tmp", "/var/tmp", "/var/folders", tempfile.gettempdir()}
    return [re.compile(re.escape(root.rstrip("/")) + r"/[^\s'\"),\]]*") for root in sorted(roots)]


_TEMP = _temp_patterns()


def normalise(text: str) -> str:
    """Replace what varies between identical runs: addresses, timestamps, UUIDs, temp paths."""
    for pattern in _TEMP:
        text = pattern.sub("<TMP>", text)
    for pattern, placeholder in _NORMALISERS:
        text = pattern.sub(placeholder, text)
    return text


def texts_match(expected: str, actual: str, tolerance: Tolerance = Tolerance()) -> bool:
    """Whether two texts agree after normalising, with numbers compared within ``tolerance``."""
    left = _NUMBER.split(normalise(expected))
    right = _NUMBER.split(normalise(actual))
    if len(left) != len(right):
        return False
    for position, (a, b) in enumerate(zip(left, right, strict=True)):
        if position % 2 == 0:
            if a != b:
                return False
        elif not _numbers_match(a, b, tolerance):
            return False
    return True


def _numbers_match(a: str, b: str, tolerance: Tolerance) -> bool:
    if a == b:
        return True
    if _is_int(a) and _is_int(b):
        return False
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= tolerance.atol + tolerance.rtol * abs(y)


def _is_int(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def _comparable(cell: Any) -> list[tuple[str, str]]:
    """A cell's outputs as (kind, text) pairs; consecutive stdout chunks joined."""
    items: list[tuple[str, str]] = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            if output.get("name") != "stdout":
                continue
            text = _text(output.get("text", ""))
            if items and items[-1][0] == "stdout":
                items[-1] = ("stdout", items[-1][1] + text)
            else:
                items.append(("stdout", text))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            if "text/plain" in data:
                items.append((kind, _text(data["text/plain"])))
            else:
                items.append((kind, "<" + ", ".join(sorted(data)) + ">"))
        elif kind == "error":
            items.append(("error", f"{output.get('ename')}: {output.get('evalue')}"))
    return items


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _numbered_code_cells(nb: Any) -> list[tuple[int, Any]]:
    """(input-notebook position, cell) for code cells; the injected cell is not numbered."""
    result = []
    position = 0
    for cell in nb.get("cells", []):
        if INJECTED_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        position += 1
        if cell.get("cell_type") == "code":
            result.append((position, cell))
    return result


def compare_notebooks(expected: Any, actual: Any,
                      tolerance: Tolerance = Tolerance()) -> Difference | None:
    """The first code cell whose outputs differ between two executed notebooks, or None.

    Cells are paired by id when both notebooks have ids, else by position.
    """
    left = _numbered_code_cells(expected)
    right = _numbered_code_cells(actual)
    by_id = {cell.get("id"): (pos, cell) for pos, cell in right if cell.get("id")}
    for index, (position, cell) in enumerate(left):
        cell_id = cell.get("id")
        if cell_id and by_id:
            match = by_id.get(cell_id)
        else:
            match = right[index] if index < len(right) else None
        if match is None:
            return Difference(position, cell_id, "cell is missing from the new run")
        difference = _compare_cell(position, cell_id, cell, match[1], tolerance)
        if difference is not None:
            return difference
    return None


def _compare_cell(position: int, cell_id: str | None, old: Any, new: Any,
                  tolerance: Tolerance) -> Difference | None:
    a, b = _comparable(old), _comparable(new)
    for number, (first, second) in enumerate(zip(a, b, strict=False), start=1):
        if first[0] != second[0]:
            return Difference(position, cell_id, f"output {number} is {second[0]}, not {first[0]}",
                              first[1], second[1])
        if not texts_match(first[1], second[1], tolerance):
            return Difference(position, cell_id, f"output {number} ({first[0]}) differs",
                              first[1], second[1],
                              offsets=first_difference(first[1], second[1], tolerance))
    if len(a) != len(b):
        return Difference(position, cell_id,
                          f"{len(b)} output(s) instead of {len(a)}",
                          "\n".join(t for _, t in a[len(b):]), "\n".join(t for _, t in b[len(a):]))
    return None
