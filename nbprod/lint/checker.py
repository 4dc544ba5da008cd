"""Running rules on a notebook: selection (select / ignore / per-file-ignores), in-cell
suppression comments, and fixes applied to a copy of the notebook.

One selection covers nbprod's rules and ruff's: ``NB`` codes run here, every other code is
ruff's (``nbprod.lint.ruff``). The default selection is every NB rule that is on by default
(``Rule.default``) plus ``ruff_select`` (ruff's syntax errors, the pyflakes checks that find
real mistakes and the removed NumPy and pandas APIs); ``select`` replaces it,
``extend_select`` adds to it, ``ignore`` removes from it, and the longest matching prefix
decides, as in ruff. Rules off by default flag notebook habits rather than mistakes
(``docs/lint.md`` says which and why); they run when selected by code or prefix.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..notebook import Notebook
from ..registry import may_declare
from .probe import Observations
from .rule import Applicability, Diagnostic, LintContext, Rule
from .rule_table import BUILTIN, PLUGIN_GROUP

__all__ = [
    "LintConfig",
    "LintResult",
    "MAX_FIX_PASSES",
    "RUFF_DEFAULT_OFF",
    "copy_notebook",
    "default_off_codes",
    "file_selector",
    "is_selected",
    "extended_registry",
    "known_codes",
    "lint",
    "ruff_codes",
    "selection",
    "suppressed_codes",
    "validate_selection",
]

MAX_FIX_PASSES = 10
_SUPPRESS_RE = re.compile(r"#\s*nbprod:\s*ignore(?:\[([A-Z0-9,\s]+)\])?", re.I)


@dataclass(frozen=True)
class LintConfig:
    """``[tool.nbprod.lint]``; command-line flags override it.

    ``select`` None means the default selection: the NB rules on by default plus
    ``ruff_select``.
    ``max_size`` is in MiB. ``ruff`` False runs nbprod's rules only (``--no-ruff``).
    """

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: dict = field(default_factory=dict)
    # Notebooks and folders never linted (``nbprod.lint.excluded``), found or named.
    exclude: tuple[str, ...] = ()
    # Leave out of a folder search what git ignores (``.gitignore``), as ruff does.
    respect_gitignore: bool = True
    ruff: bool = True
    # Ruff's syntax errors and pyflakes (but for ``RUFF_DEFAULT_OFF``), plus the NumPy 2 /
    # pandas API removals that the NB5xx drift rules leave to ruff. The pycodestyle
    # statement checks (E4, E7: imports below the top, `plt.plot(x);`, one-line `if`
    # bodies) flag how notebooks are written, not mistakes: off unless selected.
    ruff_select: tuple[str, ...] = ("E9", "F", "NPY001", "NPY201", "PD007")
    ruff_ignore: tuple[str, ...] = ()
    require_parameters: bool = False
    max_output_bytes: int = 1_000_000
    max_cell_lines: int = 200
    max_cells: int = 200
    max_size: int = 100
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False  # with fix: compute the fixes, write nothing, report the changes


@dataclass
class LintResult:
    """The findings of one notebook, and the fixed copy when fixes were applied.

    ``facts`` (``nbprod.lint.ruff.NotebookFacts``) is what merging ruff's findings needs,
    kept when ruff's results arrive after the notebook itself is gone (worker processes).
    """

    path: str
    diagnostics: list[Diagnostic]
    fixed: int = 0
    fixed_notebook: Notebook | None = None
    facts: Any = None
    warnings: list[str] = field(default_factory=list)  # upgrades and repairs made on reading
    # What the rules saw of other files (``nbprod.lint.probe``), for the lint cache.
    observations: Observations | None = None
    # Other files the fixes changed (path -> new text), to save with the fixed notebook.
    file_edits: dict[Path, str] = field(default_factory=dict)
    # With ``diff``: what the fixes would change (``nbprod.lint.preview.changes``).
    preview: dict | None = None
    # Code cells that parse as IPython (magics, automagics like `ls`, `!cmd`, `obj?`): a
    # syntax error ruff reports in one of them is IPython syntax ruff does not know.
    parsed_cells: frozenset[int] = frozenset()


def is_selected(code: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """Ruff semantics: the longest matching prefix wins (``ALL`` is the shortest); on a tie,
    ignore wins."""
    best_select = max((_specificity(code, p) for p in select), default=-1)
    best_ignore = max((_specificity(code, p) for p in ignore), default=-1)
    return best_select >= 0 and best_select > best_ignore


def _specificity(code: str, prefix: str) -> int:
    if prefix == "ALL":
        return 0
    return len(prefix) if code.startswith(prefix) else -1


#: Ruff codes inside the default selection's prefixes that are off unless selected by name
#: or by a prefix the user gives: star imports (F403, and F405 on every name a
#: `from pylab import *` brings) and F811 (a later cell importing or defining a name
#: again is how notebooks grow).
RUFF_DEFAULT_OFF = frozenset({"F403", "F405", "F811"})


def default_off_codes() -> frozenset[str]:
    """Codes that run only when the user selects them: the built-in NB rules that are off
    by default (``Rule.default``) and ``RUFF_DEFAULT_OFF``."""
    return RUFF_DEFAULT_OFF | {code for code, (_name, on) in BUILTIN.items() if not on}


def known_codes() -> list[str]:
    """Every rule code, sorted: the built-in table's, or the registry's when it may hold
    more (``extended_registry``)."""
    registry = extended_registry()
    return registry.names() if registry is not None else sorted(BUILTIN)


def extended_registry():
    """The rule registry when it may hold rules the built-in table does not list: when it is
    imported already (rules can be registered in code) or a distribution may declare
    plug-ins. None otherwise, and the rules are not imported."""
    if f"{__package__}.rules" not in sys.modules and not may_declare(PLUGIN_GROUP):
        return None
    from .rules import rule_registry

    return rule_registry


def selection(config: LintConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The effective (select, ignore) codes and prefixes, NB and ruff alike."""
    select = config.select if config.select is not None else ("NB", *config.ruff_select)
    return (*select, *config.extend_select), (*config.ignore, *config.ruff_ignore)


def file_selector(config: LintConfig, path: str):
    """``code -> bool``: whether ``code`` is on for the notebook at ``path``.

    A rule that is off by default runs only when the user's own ``select`` or
    ``extend_select`` names it (by code or by a prefix such as ``NB`` or ``ALL``).
    """
    return _selector(*_file_selection(config, path))


def _file_selection(config: LintConfig, path: str) -> tuple[tuple[str, ...], ...]:
    """(select, ignore, chosen by the user) for the notebook at ``path``."""
    select, ignore = selection(config)
    ignore = (*ignore, *_file_ignores(config, path))
    return select, ignore, (*(config.select or ()), *config.extend_select)


@functools.lru_cache(maxsize=64)
def _selector(select: tuple[str, ...], ignore: tuple[str, ...], chosen: tuple[str, ...]):
    off = default_off_codes()

    def selected(code: str) -> bool:
        if not is_selected(code, select, ignore):
            return False
        return code not in off or any(_specificity(code, p) >= 0 for p in chosen)

    return selected


def ruff_codes(config: LintConfig) -> tuple[str, ...]:
    """What to pass to ruff's ``--select``: the selected codes that are not nbprod's
    (empty when no ruff rule is selected, or ruff is off)."""
    if not config.ruff:
        return ()
    plugin_codes = [c for c in known_codes() if not c.startswith("NB")]
    select, _ = selection(config)
    return tuple(
        dict.fromkeys(
            c for c in select if not c.startswith("NB") and not _names_plugin(c, plugin_codes)
        )
    )


def _names_plugin(selector: str, plugin_codes: list[str]) -> bool:
    """Whether ``selector`` names rules of a third-party nbprod plugin (its whole letter
    prefix, e.g. ``ABC`` or ``ABC1`` for ``ABC123``), so it is not passed to ruff."""
    return any(
        code.startswith(selector) and len(selector) >= len(code.rstrip("0123456789"))
        for code in plugin_codes
    )


def validate_selection(config: LintConfig) -> None:
    """Refuse NB codes no rule has, with a did-you-mean (ruff checks its own codes).

    Raises
    ------
    ConfigError
        For an unknown NB code or prefix in select, extend-select or ignore.
    """
    from ..config import suggest

    known = known_codes()
    select, ignore = selection(config)
    per_file = [c for codes in config.per_file_ignores.values() if isinstance(codes, list)
                for c in codes]
    for code in (*select, *ignore, *per_file):
        if not isinstance(code, str):
            raise ConfigError(f"rule codes must be strings, got {code!r}")
        if code.startswith("NB") and not any(k.startswith(code) for k in known):
            raise ConfigError(
                f"unknown rule code {code!r}{suggest(code, known)}; see `nbprod rule --all`"
            )


def _file_ignores(config: LintConfig, path: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern, codes in config.per_file_ignores.items():
        if not isinstance(codes, list):
            raise ConfigError(f"per-file-ignores[{pattern!r}] must be a list of codes")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(Path(path).name, pattern):
            found.extend(codes)
    return tuple(found)


def suppressed_codes(nb: Notebook) -> dict[int, set[str] | None]:
    """cell index -> codes a ``# nbprod: ignore[...]`` comment suppresses (None: every code)."""
    found: dict[int, set[str] | None] = {}
    for cell in nb.cells:
        for match in _SUPPRESS_RE.finditer(cell.source):
            if match.group(1) is None:
                found[cell.index] = None
            elif found.get(cell.index, set()) is not None:
                codes = {c.strip().upper() for c in match.group(1).split(",") if c.strip()}
                found.setdefault(cell.index, set()).update(codes)  # type: ignore[union-attr]
    return found


def copy_notebook(nb: Notebook) -> Notebook:
    """A deep copy that fixes can edit; the loaded notebook stays as read."""
    return Notebook(
        node=copy.deepcopy(nb.node), path=nb.path, warnings=list(nb.warnings),
        indent=nb.indent, trailing_newline=nb.trailing_newline, text=nb.text,
        upgraded_from_v3=nb.upgraded_from_v3,
    )


def _selected_rules(config: LintConfig, path: str) -> tuple[Rule, ...]:
    from .rules import rule_registry

    return _rules_selected(*_file_selection(config, path), tuple(rule_registry.items()))


@functools.lru_cache(maxsize=64)
def _rules_selected(select: tuple[str, ...], ignore: tuple[str, ...], chosen: tuple[str, ...],
                    rules: tuple[tuple[str, type[Rule]], ...]) -> tuple[Rule, ...]:
    """The rules a selection runs, worked out once per process for every notebook with the
    same selection (about a tenth of a millisecond per notebook otherwise). Keyed by the
    registered rules too: a rule registered later is not missed."""
    selected = _selector(select, ignore, chosen)
    return tuple(_rule(cls) for code, cls in rules if selected(code))


def prepare_rules(config: LintConfig, paths: list[Path], cache_folder: Path | None) -> None:
    """Run ``Rule.prepare`` of every rule selected for any of ``paths``, once."""
    classes = {type(rule) for path in paths for rule in _selected_rules(config, str(path))}
    for cls in sorted(classes, key=lambda c: c.code):
        cls.prepare(cache_folder)


@functools.cache
def _rule(cls: type[Rule]) -> Rule:
    """One instance per rule class and process: rules keep no state between notebooks."""
    return cls()


def _run_rules(
    nb: Notebook, rules: tuple[Rule, ...], config: LintConfig, root: Path | None,
    edits: dict[Path, str],
):
    ctx = LintContext(nb=nb, config=config, project_root=root, edits=edits)
    suppressed = suppressed_codes(nb)
    found: list[Diagnostic] = []
    for rule in rules:
        for diag in rule.check(ctx):
            codes = suppressed.get(diag.cell or 0, set())
            if diag.cell in suppressed and (codes is None or diag.code in codes):
                continue
            found.append(diag)
    return ctx, found


def lint(
    nb: Notebook, config: LintConfig | None = None, project_root: Path | None = None
) -> LintResult:
    """Lint one notebook with nbprod's own rules (``lint_paths`` merges ruff's findings).

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
    if config.fix:
        working = copy_notebook(nb)
    edits: dict[Path, str] = {}
    ctx, found = _run_rules(working, rules, config, project_root, edits)
    if config.fix:
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
            ctx, found = _run_rules(working, rules, config, project_root, edits)
    return LintResult(
        path=nb.display_path,
        diagnostics=sorted(found, key=Diagnostic.sort_key),
        fixed=fixed,
        fixed_notebook=working if fixed else None,
        observations=ctx.files.seen,
        file_edits=edits,
        parsed_cells=frozenset(
            cell.index for cell, result in ctx.code_cells if result.syntax_error is None
        ),
    )


