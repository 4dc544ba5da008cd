"""Running rules on a notebook: selection (select / ignore / per-file-ignores), in-cell
suppression comments, and fixes applied to a copy of the notebook.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError
from ..notebook import Notebook
from .rule import Applicability, Diagnostic, LintContext, Rule

__all__ = ["LintConfig", "LintResult", "lint", "is_selected", "MAX_FIX_PASSES"]

MAX_FIX_PASSES = 10
_SUPPRESS_RE = re.compile(r"#\s*nbprod:\s*ignore(?:\[([A-Z0-9,\s]+)\])?", re.I)


@dataclass(frozen=True)
class LintConfig:
    """``[tool.nbprod.lint]``; command-line flags override it."""

    select: tuple[str, ...] = ("NB",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: dict = field(default_factory=dict)
    ruff: bool = True
    ruff_select: tuple[str, ...] = ("E4", "E7", "E9", "F")
    ruff_ignore: tuple[str, ...] = ()
    require_parameters: bool = False
    max_output_bytes: int = 1_000_000
    max_cell_lines: int = 200
    max_cells: int = 200
    max_size: int = 100 * 1024 * 1024
    fix: bool = False
    unsafe_fixes: bool = False


@dataclass
class LintResult:
    """The findings of one notebook, and the fixed copy when fixes were applied."""

    path: str
    diagnostics: list[Diagnostic]
    fixed: int = 0
    fixed_notebook: Notebook | None = None


def is_selected(code: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """Ruff semantics: the longest matching prefix wins; on a tie, ignore wins."""
    best_select = max((len(p) for p in select if code.startswith(p) or p == "ALL"), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p) or p == "ALL"), default=-1)
    return best_select >= 0 and best_select > best_ignore


def _file_ignores(config: LintConfig, path: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern, codes in config.per_file_ignores.items():
        if not isinstance(codes, list):
            raise ConfigError(f"per-file-ignores[{pattern!r}] must be a list of codes")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(Path(path).name, pattern):
            found.extend(codes)
    return tuple(found)


def _suppressed(nb: Notebook) -> dict[int, set[str] | None]:
    """cell index -> suppressed codes (None means every code)."""
    found: dict[int, set[str] | None] = {}
    for cell in nb.cells:
        for match in _SUPPRESS_RE.finditer(cell.source):
            if match.group(1) is None:
                found[cell.index] = None
            elif found.get(cell.index, set()) is not None:
                codes = {c.strip().upper() for c in match.group(1).split(",") if c.strip()}
                found.setdefault(cell.index, set()).update(codes)  # type: ignore[union-attr]
    return found


def _selected_rules(config: LintConfig, path: str) -> list[Rule]:
    from .rules import rule_registry

    select = (*config.select, *config.extend_select)
    ignore = (*config.ignore, *_file_ignores(config, path))
    return [cls() for code, cls in rule_registry.items() if is_selected(code, select, ignore)]


def _run_rules(nb: Notebook, rules: list[Rule], config: LintConfig, root: Path | None):
    ctx = LintContext(nb=nb, config=config, project_root=root)
    suppressed = _suppressed(nb)
    found: list[Diagnostic] = []
    for rule in rules:
        for diag in rule.check(ctx):
            codes = suppressed.get(diag.cell or 0, set())
            if diag.cell in suppressed and (codes is None or diag.code in codes):
                continue
            found.append(diag)
    return ctx, found


def lint(nb: Notebook, config: LintConfig | None = None, project_root: Path | None = None) -> LintResult:
    """Lint one notebook with nbprod's own rules (ruff's are merged by ``nbprod.lint.lint_paths``).

    Parameters
    ----------
    nb:
        The loaded notebook; it is never modified.
    config:
        Selection and fix settings; defaults to ``LintConfig()``.
    project_root:
        The project folder, for rules that look at files beside the notebook.

    Returns
    -------
    LintResult
        Sorted diagnostics; with ``config.fix``, also the fixed copy and how many were fixed.
    """
    config = config or LintConfig()
    rules = _selected_rules(config, nb.display_path)
    by_code = {rule.code: rule for rule in rules}
    allowed = {Applicability.SAFE} | ({Applicability.UNSAFE} if config.unsafe_fixes else set())
    working = nb
    fixed = 0
    ctx, found = _run_rules(working, rules, config, project_root)
    if config.fix:
        working = Notebook(
            node=copy.deepcopy(nb.node), path=nb.path, warnings=list(nb.warnings),
            indent=nb.indent, trailing_newline=nb.trailing_newline,
        )
        ctx, found = _run_rules(working, rules, config, project_root)
        for _ in range(MAX_FIX_PASSES):
            fixable = [d for d in found if d.fix_applicability in allowed]
            if not fixable:
                break
            code = fixable[0].code
            batch = sorted(
                (d for d in fixable if d.code == code), key=Diagnostic.sort_key, reverse=True
            )
            for diag in batch:
                by_code[code].fix(ctx, diag)
            fixed += len(batch)
            ctx, found = _run_rules(working, rules, config, project_root)
    return LintResult(
        path=nb.display_path,
        diagnostics=sorted(found, key=Diagnostic.sort_key),
        fixed=fixed,
        fixed_notebook=working if fixed else None,
    )


def with_path(diag: Diagnostic, path: str) -> Diagnostic:
    return replace(diag, path=path)
