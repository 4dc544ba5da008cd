"""Per-cell test markers read from nbval comments, nbval/nbmake tags and nbdev directives.

Existing notebook suites move over unchanged, so each marker keeps the meaning its tool gave it:

==========================================  =============================================
marker                                      meaning under ``pytest --nbprod``
==========================================  =============================================
``# NBVAL_SKIP``, tag ``nbval-skip``        the cell is not executed
tag ``skip-execution`` (nbmake)             the cell is not executed
``#| eval: false`` (nbdev)                  the cell is not executed
``#| notest`` (nbdev's default test flag)   the cell is not executed
``# NBVAL_IGNORE_OUTPUT``,                  executed; its output is never compared
tag ``nbval-ignore-output``
``# NBVAL_CHECK_OUTPUT``,                   executed; its output is compared even in run mode
tag ``nbval-check-output``
``# NBVAL_RAISES_EXCEPTION``, tags          the cell may raise; execution goes on after it
``nbval-raises-exception``,
``raises-exception`` (nbmake, nbclient)
==========================================  =============================================

nbval reads a marker from any comment line of the cell, so this module does too. Export reads
the same markers: a ``test`` cell that is not executed becomes a skipped test, and
``nbprod tag --suggest`` proposes no ``test`` tag for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .notebook import Cell

__all__ = ["CellMarks", "cell_marks"]

# nbval comment marker -> (field, value)
_COMMENTS = {
    "NBVAL_SKIP": ("skip", True),
    "NBVAL_IGNORE_OUTPUT": ("check", False),
    "NBVAL_CHECK_OUTPUT": ("check", True),
    "NBVAL_RAISES_EXCEPTION": ("raises", True),
    "PYTEST_VALIDATE_IGNORE_OUTPUT": ("check", False),  # nbval's older spelling
}
# cell tag -> (field, value)
_TAGS = {
    "nbval-skip": ("skip", True),
    "skip-execution": ("skip", True),
    "nbval-ignore-output": ("check", False),
    "nbval-check-output": ("check", True),
    "nbval-raises-exception": ("raises", True),
    "raises-exception": ("raises", True),
}
_COMMENT_RE = re.compile(r"^\s*#+\s*([A-Z_]+)\s*$")
_FALSE = {"false", "False", "0", "no"}


@dataclass(frozen=True)
class CellMarks:
    """What the markers of one cell ask for.

    ``check`` is ``None`` when the cell has no output marker: the mode decides (compare mode
    compares, run mode does not).
    """

    skip: bool = False
    raises: bool = False
    check: bool | None = None
    reason: str = ""  # the marker that made the cell skip, for the report

    def compares(self, compare_mode: bool) -> bool:
        """Whether this cell's outputs are compared with the stored ones."""
        return compare_mode if self.check is None else self.check


def cell_marks(cell: Cell) -> CellMarks:
    """Read the test markers of ``cell`` (comments win over tags, as in nbval).

    Parameters
    ----------
    cell:
        A code cell; other cell types have no marks.

    Returns
    -------
    CellMarks
    """
    if cell.cell_type != "code":
        return CellMarks()
    found: dict[str, tuple[bool, str]] = {}
    for tag in cell.tags:
        if tag in _TAGS:
            name, value = _TAGS[tag]
            found[name] = (value, f"tag {tag!r}")
    for line in cell.source.splitlines():
        match = _COMMENT_RE.match(line)
        if match and match.group(1) in _COMMENTS:
            name, value = _COMMENTS[match.group(1)]
            found[name] = (value, f"# {match.group(1)}")
    evaluate = cell.directives.get("eval")
    if evaluate is not None and evaluate.strip() in _FALSE:
        found["skip"] = (True, "#| eval: false")
    elif "notest" in cell.directives:  # nbdev's default test flag: run only when asked for
        found["skip"] = (True, "#| notest")
    skip, reason = found.get("skip", (False, ""))
    return CellMarks(
        skip=skip,
        raises=found.get("raises", (False, ""))[0],
        check=found["check"][0] if "check" in found else None,
        reason=reason,
    )
