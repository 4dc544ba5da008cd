"""The rerun verdict: will the notebook run top to bottom in a fresh kernel?

Each nbprod rule declares whether its findings block a rerun (``Rule.rerun_blocker``);
ruff's codes that do are listed here (a syntax error, an undefined name, an API that the
installed NumPy or pandas removed). A notebook's verdict names the first blocking finding
in cell order: the cell where a top-to-bottom run is expected to stop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache

from .rule import Diagnostic

__all__ = ["RUFF_RERUN_BLOCKERS", "Verdict", "mark_ruff_blockers", "verdict"]

#: Ruff codes whose findings stop a top-to-bottom run: code -> (package, version that
#: removed the API), or None when the failure does not depend on an installed version.
RUFF_RERUN_BLOCKERS: dict[str, tuple[str, str] | None] = {
    "E999": None,  # SyntaxError
    "F821": None,  # NameError: the name is defined by no cell
    "F822": None,  # __all__ names what the module does not define
    "F823": None,  # UnboundLocalError
    "NPY001": ("numpy", "1.24"),  # np.float, np.int... aliases
    "NPY201": ("numpy", "2.0"),  # NumPy 2 removals
    "PD007": ("pandas", "1.0"),  # .ix
}


def _version_tuple(text: str) -> tuple[int, ...]:
    """``"2.4.1rc1"`` -> ``(2, 4, 1)``: the leading release numbers."""
    return tuple(int(n) for n in re.findall(r"\d+", re.match(r"[\d.]*", text).group())[:3])


@cache
def installed_version(package: str) -> str | None:
    """The version of ``package`` installed in this environment (None: not installed)."""
    from importlib import metadata  # about 10 ms to import: only when a rule asks

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def removed_here(package: str, version: str) -> bool:
    """Whether an API that ``package`` removed in ``version`` is missing from the installed
    package: true when the installed version is that one or later, or when the package is
    not installed at all (the import fails first)."""
    installed = installed_version(package)
    return installed is None or _version_tuple(installed) >= _version_tuple(version)


def mark_ruff_blockers(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Ruff's findings with ``rerun_blocker`` set where their code stops a rerun here (a
    finding in a cell; ruff's notebook-level errors are about the file, not the code)."""
    marked = []
    for d in diagnostics:
        # Without a cell, ruff could not read the file as a notebook at all (a schema it
        # does not know): that says nothing about running it.
        if d.code in RUFF_RERUN_BLOCKERS and d.cell is not None:
            removed = RUFF_RERUN_BLOCKERS[d.code]
            if removed is None or removed_here(*removed):
                d = replace(d, rerun_blocker=True)
        marked.append(d)
    return marked


@dataclass(frozen=True)
class Verdict:
    """One notebook's rerun verdict; ``blocker`` is the first blocking finding, if any."""

    path: str
    blocker: Diagnostic | None
    blockers: int = 0

    @property
    def will_fail(self) -> bool:
        return self.blocker is not None

    @property
    def cell(self) -> int | None:
        return self.blocker.cell if self.blocker else None

    @property
    def reason(self) -> str:
        return f"{self.blocker.code} {self.blocker.message}" if self.blocker else ""

    def text(self) -> str:
        """``will fail at cell 4: NB205 ...`` or ``no rerun blocker found``."""
        if self.blocker is None:
            return "no rerun blocker found"
        where = f"cell {self.cell}" if self.cell else "the start"
        return f"will fail at {where}: {self.reason}"

    def to_json(self) -> dict:
        return {
            "filename": self.path,
            "will_fail": self.will_fail,
            "cell": self.cell,
            "cell_id": self.blocker.cell_id if self.blocker else None,
            "code": self.blocker.code if self.blocker else None,
            "reason": self.blocker.message if self.blocker else None,
            "blockers": self.blockers,
            "summary": self.text(),
        }


def verdict(path: str, diagnostics: Sequence[Diagnostic]) -> Verdict:
    """The verdict of the notebook at ``path`` from its findings (any order)."""
    blocking = sorted(
        (d for d in diagnostics if d.rerun_blocker),
        key=lambda d: (d.cell or 0, d.line, d.column, d.code),
    )
    return Verdict(path=path, blocker=blocking[0] if blocking else None, blockers=len(blocking))
