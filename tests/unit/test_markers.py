"""Cell markers from nbval, nbmake and nbdev, read as nbprod's test plugin and export read them."""

from __future__ import annotations

import pytest

from nbprod.markers import CellMarks, cell_marks
from nbprod.notebook import Cell


def code(source: str, tags: list[str] | None = None) -> Cell:
    node = {"cell_type": "code", "source": source, "metadata": {"tags": tags or []}, "outputs": []}
    return Cell(1, node)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (code("# NBVAL_SKIP\nx = 1"), CellMarks(skip=True, reason="# NBVAL_SKIP")),
        (code("x = 1", ["nbval-skip"]), CellMarks(skip=True, reason="tag 'nbval-skip'")),
        (code("x = 1", ["skip-execution"]), CellMarks(skip=True, reason="tag 'skip-execution'")),
        (code("#| eval: false\nx = 1"), CellMarks(skip=True, reason="#| eval: false")),
        (code("#|eval:false\nx = 1"), CellMarks(skip=True, reason="#| eval: false")),
        (code("#| notest\nassert f() == 2"), CellMarks(skip=True, reason="#| notest")),
        (code("x = 1  \n# NBVAL_IGNORE_OUTPUT"), CellMarks(check=False)),
        (code("x", ["nbval-ignore-output"]), CellMarks(check=False)),
        (code("## NBVAL_CHECK_OUTPUT\nx"), CellMarks(check=True)),
        (code("x", ["nbval-check-output"]), CellMarks(check=True)),
        (code("# NBVAL_RAISES_EXCEPTION\n1/0"), CellMarks(raises=True)),
        (code("1/0", ["raises-exception"]), CellMarks(raises=True)),
        (code("1/0", ["nbval-raises-exception"]), CellMarks(raises=True)),
        (code("x = 1", ["parameters", "export", "skip"]), CellMarks()),
        (code("#| eval: true\nx = 1"), CellMarks()),
        (code("print('# NBVAL_SKIP')"), CellMarks()),  # a string, not a comment
    ],
)
def test_markers(cell, expected):
    assert cell_marks(cell) == expected


def test_comment_wins_over_tag_as_in_nbval():
    cell = code("# NBVAL_CHECK_OUTPUT\nx", ["nbval-ignore-output"])
    assert cell_marks(cell).check is True


def test_mode_decides_for_unmarked_cells():
    assert CellMarks().compares(compare_mode=True)
    assert not CellMarks().compares(compare_mode=False)
    assert CellMarks(check=True).compares(compare_mode=False)
    assert not CellMarks(check=False).compares(compare_mode=True)


def test_markdown_cells_have_no_marks():
    cell = Cell(1, {"cell_type": "markdown", "source": "# NBVAL_SKIP", "metadata": {}})
    assert cell_marks(cell) == CellMarks()
