"""What a lint rule is and what it reports: ``Rule``, ``Diagnostic`` and their enums.

A rule is a stateless class whose docstring is its documentation (What it does / Why is this
bad? / Example / Use instead / Fix safety). It reads a ``LintContext`` and yields
``Diagnostic`` objects; a fixable rule also implements ``fix``, which edits the context's
notebook (always a copy: the checker decides whether anything is saved).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .probe import FileProbe

if TYPE_CHECKING:
    from ..analysis import CellAnalysis, NotebookAnalysis
    from ..notebook import Cell, Notebook
    from .checker import LintConfig

__all__ = ["Applicability", "Diagnostic", "LintContext", "Rule", "Severity", "DOC_SECTIONS"]

DOC_SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")
RULE_URL = "https://nbprod.readthedocs.io/en/latest/rules/{code}/"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Applicability(str, enum.Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Diagnostic:
    """One finding, located by cell (1-based over all cells) and line/column within the cell."""

    code: str
    name: str
    message: str
    severity: Severity
    path: str
    cell: int | None
    cell_id: str | None
    line: int = 1
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    fix_title: str | None = None
    fix_applicability: Applicability | None = None
    url: str | None = None
    output: int | None = None  # 1-based output index, for findings in outputs
    # Whether the finding means a top-to-bottom run in a fresh kernel fails (``Rule``).
    rerun_blocker: bool = False
    data: dict = field(default_factory=dict, compare=False, hash=False)  # rule-private fix data

    @property
    def fixable(self) -> bool:
        return self.fix_applicability is not None

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.output or 0, self.line, self.column, self.code)


@dataclass
class LintContext:
    """Everything a rule may read about one notebook; analysis is computed once, lazily.

    Rules that look at other files do so through ``files``, which records what they saw
    (see ``nbprod.lint.probe``).
    """

    nb: Notebook
    config: LintConfig
    project_root: Path | None = None
    files: FileProbe = field(default_factory=FileProbe)
    # Files other than the notebook that fixes change (path -> new text); like the notebook,
    # they are written only when the fixed notebook is saved (``nbprod.lint.lint_paths``).
    edits: dict[Path, str] = field(default_factory=dict)
    _memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def analysis(self) -> NotebookAnalysis:
        from ..analysis import analyze_notebook

        return analyze_notebook(self.nb)

    @cached_property
    def code_cells(self) -> list[tuple[Cell, CellAnalysis]]:
        """Every code cell with its analysis, in notebook order (``tree`` may be None)."""
        return list(zip(self.analysis.cells, self.analysis.results, strict=True))

    @cached_property
    def python_cells(self) -> list[tuple[Cell, CellAnalysis]]:
        """Code cells that parsed as Python, with their analysis (``tree`` is never None)."""
        return [
            (cell, result)
            for cell, result in self.code_cells
            if result.tree is not None
        ]

    def memo(self, key: Hashable, factory: Callable[[], Any]) -> Any:
        """Compute ``factory()`` once per notebook and share it between rules (e.g. parse trees)."""
        cache = self._memo
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = factory()
            return value


class Rule:
    """Base class of lint rules; subclasses set ``code``, ``name`` and implement ``check``.

    ``rerun_blocker`` says whether a finding of the rule means that running the notebook top
    to bottom in a fresh kernel fails (hidden state, a removed API, a missing file or
    package...): such findings make ``nbprod lint``'s rerun verdict. ``default`` False
    keeps a rule out of the default selection (it runs when selected by code or prefix).
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    fix_applicability: ClassVar[Applicability | None] = None
    rerun_blocker: ClassVar[bool] = False
    default: ClassVar[bool] = True

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        raise NotImplementedError

    def fix(self, ctx: LintContext, diagnostic: Diagnostic) -> None:
        """Apply the fix for ``diagnostic`` to ``ctx.nb`` (fixable rules only)."""
        raise NotImplementedError

    @classmethod
    def prepare(cls, cache_folder: Path | None) -> None:
        """Work the rule needs that does not depend on the notebook (facts about the
        installed environment), done once per run before any notebook is linted, and before
        worker processes fork so that they inherit it. ``cache_folder`` is where the lint
        cache is kept (None with ``--no-cache``), for answers worth keeping between runs."""

    @classmethod
    def summary(cls) -> str:
        """The first sentence of "What it does", for rule tables and SARIF."""
        doc = cls.__doc__ or ""
        match = re.search(r"## What it does\s*\n(.+?)(?:\n\n|\n##|$)", doc, re.S)
        text = " ".join((match.group(1) if match else doc).split())
        return text.split(". ")[0].rstrip(".") + "."

    @classmethod
    def documentation(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    def diagnostic(
        self,
        ctx: LintContext,
        cell: Cell | None,
        message: str,
        *,
        line: int = 1,
        column: int = 1,
        end_line: int | None = None,
        end_column: int | None = None,
        fix_title: str | None = None,
        fix_applicability: Applicability | None = None,
        output: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Diagnostic:
        """Build a Diagnostic for this rule; ``fix_title`` marks it fixable, with the rule's
        fix applicability unless ``fix_applicability`` says otherwise for this finding."""
        return Diagnostic(
            code=self.code,
            name=self.name,
            message=message,
            severity=self.severity,
            path=ctx.nb.display_path,
            cell=cell.index if cell is not None else None,
            cell_id=cell.id if cell is not None else None,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            fix_title=fix_title if self.fix_applicability else None,
            fix_applicability=(
                (fix_applicability or self.fix_applicability)
                if fix_title and self.fix_applicability else None
            ),
            url=RULE_URL.format(code=self.code),
            output=output,
            rerun_blocker=self.rerun_blocker,
            data=data or {},
        )
