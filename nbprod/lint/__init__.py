"""Linting notebooks: ``lint`` for one loaded notebook, ``lint_paths`` for files and folders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NbprodError, NotebookError
from ..notebook import load, save
from .checker import LintConfig, LintResult, lint
from .rule import Applicability, Diagnostic, LintContext, Rule, Severity

__all__ = [
    "Applicability",
    "Diagnostic",
    "LintConfig",
    "LintContext",
    "LintReport",
    "LintResult",
    "Rule",
    "Severity",
    "collect_notebooks",
    "lint",
    "lint_paths",
]


@dataclass
class LintReport:
    """The outcome of linting many notebooks: findings, files that failed to load, fixes."""

    results: list[LintResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one-line messages for unreadable files

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return sorted((d for r in self.results for d in r.diagnostics), key=Diagnostic.sort_key)

    @property
    def fixed(self) -> int:
        return sum(r.fixed for r in self.results)


def collect_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders recursively into ``.ipynb`` files (skipping checkpoints and hidden dirs).

    Raises
    ------
    NotebookError
        When a given path does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*.ipynb")):
                parts = candidate.relative_to(path).parts
                if any(p.startswith(".") or p == "node_modules" for p in parts[:-1]):
                    continue
                found.append(candidate)
        elif path.exists():
            found.append(path)
        else:
            raise NotebookError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def _lint_one(path: Path, config: LintConfig, project_root: Path | None) -> LintResult | str:
    try:
        nb = load(path, max_bytes=config.max_size)
        result = lint(nb, config, project_root)
        if result.fixed_notebook is not None:
            save(result.fixed_notebook)
        return result
    except NbprodError as exc:
        return str(exc)


def lint_paths(
    paths: Iterable[str | Path], config: LintConfig | None = None, project_root: Path | None = None
) -> LintReport:
    """Lint every notebook under ``paths``; unreadable notebooks are reported, not fatal.

    With ``config.fix``, fixed notebooks are saved (atomically) as they are linted.
    """
    config = config or LintConfig()
    report = LintReport()
    for path in collect_notebooks(paths):
        outcome = _lint_one(path, config, project_root)
        if isinstance(outcome, str):
            report.errors.append(outcome)
        else:
            report.results.append(outcome)
    return report
