"""Linting notebooks: ``lint`` for one loaded notebook, ``lint_paths`` for files and folders.

``lint_paths`` is what the CLI, the pre-commit hook and the server call. It takes the
findings of unchanged notebooks from the lint cache when given one (``nbprod.lint.cache``),
starts ruff once over the other notebooks (in its own process, in the background), lints
them with nbprod's rules (in a pool of worker processes when there are enough of them to
pay for the start-up), then merges ruff's findings into each notebook's. A notebook that
cannot be read is reported and skipped; the others are still linted.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import (
    ConfigError,
    InfrastructureError,
    NbprodError,
    NbprodWarning,
    NotebookError,
)
from ..fsutil import atomic_write, folder_lock
from ..gitignore import git_ignored
from ..notebook import check_readable, load, prepare_validation, save
from .cache import LintCache
from .checker import (
    MAX_FIX_PASSES,
    LintConfig,
    LintResult,
    copy_notebook,
    file_selector,
    lint,
    prepare_rules,
    ruff_codes,
    suppressed_codes,
    validate_selection,
)
from .rerun import Verdict, verdict
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
    "Verdict",
    "collect_notebooks",
    "lint",
    "lint_paths",
]

#: Below this many notebooks, linting runs in this process: starting workers would cost
#: more than it saves. A notebook takes about 15 ms of CPU (bench/lint --breakdown); forking
#: two workers about 50 ms; a spawned worker imports nbprod again (about half a second).
PARALLEL_THRESHOLD = 24
PARALLEL_THRESHOLD_SPAWN = 100


@dataclass
class LintReport:
    """The outcome of linting many notebooks: findings, files that failed to load, fixes."""

    results: list[LintResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one-line messages for unreadable files

    @property
    def warnings(self) -> list[str]:
        """One line per upgrade or repair made in memory while reading (``path: what``)."""
        return [f"{r.path}: {note}" for r in self.results for note in r.warnings]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return sorted((d for r in self.results for d in r.diagnostics), key=Diagnostic.sort_key)

    @property
    def fixed(self) -> int:
        return sum(r.fixed for r in self.results)

    @property
    def written_files(self) -> list[Path]:
        """Files other than the notebooks that the fixes wrote (a requirements.txt)."""
        return sorted({path for r in self.results for path in r.file_edits})

    @property
    def previews(self) -> list[dict]:
        """With ``diff``: what the fixes would change, per notebook that would change."""
        return [r.preview for r in self.results if r.preview and (
            r.preview["cells"] or r.preview["files"])]

    @property
    def verdicts(self) -> list[Verdict]:
        """The rerun verdict of every linted notebook, in the order they were linted."""
        return [verdict(r.path, r.diagnostics) for r in self.results]


def collect_notebooks(paths: Iterable[str | Path], exclude: Iterable[str] = (),
                      root: Path | None = None, *, gitignore: bool = False) -> list[Path]:
    """Expand folders recursively into ``.ipynb`` files, skipping the folders no one lints
    (``_skipped_folder``), whatever matches an ``exclude`` pattern (``excluded``), found
    in a folder or named, and with ``gitignore``, what git ignores in a folder searched
    (``nbprod.gitignore``; a notebook named is linted, as ruff does).

    Raises
    ------
    NotebookError
        When a given path does not exist.
    """
    patterns = tuple(exclude)
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and path.suffix == ".ipynb":
            # Named as a notebook file: the user meant a file, not a folder to search.
            raise NotebookError(f"{path}: is a folder, not a notebook file")
        if path.is_dir():
            if excluded(path, patterns, root) is None:
                search = _Search(patterns, root, git_ignored(str(path)) if gitignore else None,
                                 gitignore)
                found += sorted(Path(name) for name in search.notebooks_in(str(path)))
        elif path.exists() or path.is_symlink():
            if excluded(path, patterns, root) is None:
                found.append(path)  # the loader reports what is wrong with a broken link
        else:
            raise NotebookError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def excluded(path: str | Path, patterns: tuple[str, ...], root: Path | None) -> str | None:
    """The first ``exclude`` pattern that matches ``path`` (None when none does), as ruff's
    ``exclude`` matches: the path relative to the project root (the current folder without
    one), one of the folders it is in, or the name of either (``archive`` excludes every
    folder of that name, ``old/*.ipynb`` the notebooks of ``old/``, ``*-draft.ipynb`` a
    name anywhere). ``*`` matches across ``/`` (``fnmatch``). A path outside the project is
    matched by its name."""
    if not patterns:
        return None
    absolute = os.path.abspath(path)
    base = os.path.abspath(root or ".")
    if not _is_under(absolute, base):
        # Outside the project: its folders are not the project's to match, only its name.
        name = os.path.basename(absolute)
        return next((p for p in patterns if fnmatch.fnmatch(name, p)), None)
    relative = Path(os.path.relpath(absolute, base))
    for part in (relative, *relative.parents[:-1]):
        text = part.as_posix()
        for pattern in patterns:
            if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(part.name, pattern):
                return pattern
    return None


def _is_under(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive
        return False


#: Folders never searched for notebooks, besides hidden ones (``.git``, ``.venv``,
#: ``.ipynb_checkpoints``...): installed packages and their tools' caches.
SKIPPED_FOLDERS = frozenset({"node_modules", "site-packages", "__pypackages__", "__pycache__"})


@dataclass(frozen=True)
class _Search:
    """What a folder search leaves out: ``exclude`` patterns (relative to ``root``) and the
    paths git ignores (None: not asked, or not a git work tree); with ``gitignore``, also
    what the repositories nested in the folder ignore (a submodule, a folder of clones)."""

    exclude: tuple[str, ...]
    root: Path | None
    ignored: frozenset[str] | None
    gitignore: bool = False

    def notebooks_in(self, folder: str) -> Iterator[str]:
        """The ``.ipynb`` files under ``folder``, in no particular order. Folders left out
        are never entered: a project's ``.git``, ``node_modules`` or virtual environment
        can hold far more files than its notebooks, and walking them cost more than
        linting. Links to folders are not followed (a link back up would never end); links
        to files are."""
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return  # unreadable: nothing in it can be linted either
        for entry in entries:
            if entry.name.endswith(".ipynb") and _is_file(entry):
                if not self._left_out(entry.path):
                    yield entry.path
            elif (_is_real_folder(entry)
                  and not _skipped_folder(entry.path, entry.name)
                  and not self._left_out(entry.path)):
                yield from self._inside(entry.path).notebooks_in(entry.path)

    def _inside(self, folder: str) -> _Search:
        """The search for ``folder``: a repository of its own (it holds ``.git``) adds what
        it ignores, which git's answer for the repository around it does not cover."""
        if not self.gitignore or not os.path.exists(os.path.join(folder, ".git")):
            return self
        nested = git_ignored(folder)
        if not nested:
            return self
        return replace(self, ignored=(self.ignored or frozenset()) | nested)

    def _left_out(self, path: str) -> bool:
        if self.ignored and os.path.normpath(path) in self.ignored:
            return True
        return excluded(path, self.exclude, self.root) is not None


def _is_file(entry: os.DirEntry) -> bool:
    """Whether an entry is a file or a link to one; False for a link that leads nowhere or
    round in a loop (as ``Path.is_file``: a folder search passes over it)."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_real_folder(entry: os.DirEntry) -> bool:
    """Whether an entry is a folder, not a link to one (False when it vanished meanwhile)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _skipped_folder(path: str, name: str) -> bool:
    """Hidden folders, ``SKIPPED_FOLDERS`` and virtual environments under any name
    (``venv/``, ``env/``: a ``pyvenv.cfg`` or a conda environment's ``conda-meta``)."""
    return (
        name.startswith(".")
        or name in SKIPPED_FOLDERS
        or os.path.exists(os.path.join(path, "pyvenv.cfg"))
        or os.path.isdir(os.path.join(path, "conda-meta"))
    )


def lint_paths(
    paths: Iterable[str | Path],
    config: LintConfig | None = None,
    project_root: Path | None = None,
    *,
    jobs: int | None = None,
    cache: LintCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LintReport:
    """Lint every notebook under ``paths``, with nbprod's rules and ruff's.

    Parameters
    ----------
    paths:
        Notebook files and folders (searched recursively).
    config:
        Selection, fixes, limits; defaults to ``LintConfig()``.
    project_root:
        The project folder, for rules that look at files beside the notebook.
    jobs:
        Worker processes; default: one per CPU. With fewer than ``PARALLEL_THRESHOLD``
        notebooks, or ``jobs=1``, linting runs in this process.
    cache:
        Results of unchanged notebooks to reuse, and where to keep the new ones
        (``nbprod.lint.cache``); not used with ``config.fix``.
    progress:
        Called with ``(done, total)`` as the notebooks not taken from the cache are linted:
        ``(0, total)`` first, then after each one (a display for long lints).

    Returns
    -------
    LintReport
        Findings of every readable notebook; one message per notebook that could not be
        read. With ``config.fix``, fixed notebooks have been saved (atomically).

    Raises
    ------
    ConfigError
        For an unknown rule code (nbprod's or ruff's).
    InfrastructureError
        When ruff or a worker process dies.
    """
    config = config or LintConfig()
    validate_selection(config)
    files = collect_notebooks(paths, config.exclude, project_root,
                              gitignore=config.respect_gitignore)
    if config.fix:
        cache = None
    outcomes: list[LintResult | str | None] = [
        cache.lookup(path) if cache else None for path in files
    ]
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    codes = ruff_codes(config)
    batch = None
    if codes and not config.fix and todo:
        from .ruff import RuffBatch

        batch = RuffBatch(_ruff_paths(files[i] for i in todo), codes).start()
    try:
        # While ruff runs; only for the notebooks to lint (none: nothing is prepared).
        prepare_rules(config, [files[i] for i in todo], cache.file.parent if cache else None)
        linted = _run_all([files[i] for i in todo], config, project_root, jobs, progress)
        ruff_found = batch.results() if batch else {}
    finally:
        if batch:
            batch.cancel()
    for position, outcome in zip(todo, linted, strict=True):
        facts = getattr(outcome, "facts", None)
        if batch and facts is not None and not facts.via_stdin:
            outcome = _merge_ruff(outcome, ruff_found.get(os.path.abspath(facts.path), []), config)
        if cache and not isinstance(outcome, str):
            cache.store(files[position], outcome)
        outcomes[position] = outcome
    if cache:
        cache.save()
    if config.fix and not config.diff and any(
            isinstance(outcome, LintResult) and outcome.file_edits for outcome in outcomes):
        outcomes = _relinted(outcomes, files, config, project_root, jobs)
    report = LintReport()
    for outcome in outcomes:
        if isinstance(outcome, str):
            report.errors.append(outcome)
        else:
            report.results.append(outcome)
    return report


def _relinted(outcomes: list, files: list[Path], config: LintConfig, root: Path | None,
              jobs: int | None) -> list:
    """The findings of every notebook as the files are now, with the fixes counted.

    A fix may write a file that other notebooks' rules read (NB203 moving an install into a
    new requirements.txt, which NB207 then checks imports against). Notebooks linted before
    it was written would otherwise be reported as they were, not as a next run sees them.
    """
    final = {r.path: r for r in lint_paths(files, replace(config, fix=False), root,
                                           jobs=jobs).results}
    relinted = []
    for outcome in outcomes:
        now = final.get(outcome.path) if isinstance(outcome, LintResult) else None
        if now is not None:
            now.fixed, now.file_edits = outcome.fixed, outcome.file_edits
        relinted.append(now or outcome)
    return relinted


def _ruff_paths(files: Iterable[Path]) -> list[Path]:
    """The notebooks ruff may read itself: regular ``.ipynb`` files. A path the loader
    refuses (a FIFO would block ruff forever, a device would never end) is never handed to
    ruff; nbprod's own read of it reports the problem."""
    paths = []
    for path in files:
        if path.suffix != ".ipynb":
            continue
        try:
            check_readable(path)
        except NotebookError:
            continue
        paths.append(path)
    return paths


def _run_all(files: list[Path], config: LintConfig, root: Path | None, jobs: int | None,
             progress: Callable[[int, int], None] | None = None) -> list:
    jobs = jobs or os.cpu_count() or 1
    report = progress or (lambda done, total: None)
    report(0, len(files))
    # Forking a process that runs threads (a Jupyter server) can deadlock the child, and
    # macOS and Windows cannot fork safely at all: there, workers start fresh (spawn).
    can_fork = sys.platform.startswith("linux") and threading.active_count() == 1
    threshold = PARALLEL_THRESHOLD if can_fork else PARALLEL_THRESHOLD_SPAWN
    if jobs <= 1 or len(files) < threshold:
        results = []
        for path in files:
            results.append(_lint_one(path, config, root))
            report(len(results), len(files))
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from .rules import rule_registry

    # Workers forked from here inherit the imported rules (and their entry-point plugins)
    # and the compiled schema checks: nothing to import or compile again.
    rule_registry.names()
    prepare_validation()
    method = "fork" if can_fork else "spawn"
    context = multiprocessing.get_context(method)
    # Largest notebooks first, in small chunks, so that no worker is left with a big one at
    # the end while the other idles; results are put back in the order of ``files``.
    order = sorted(range(len(files)), key=lambda i: -_size(files[i]))
    chunk = max(1, min(8, len(files) // (jobs * 8)))
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            ordered = [files[i] for i in order]
            outcomes = []
            for outcome in pool.map(_lint_one, ordered, [config] * len(files),
                                    [root] * len(files), chunksize=chunk):
                outcomes.append(outcome)
                report(len(outcomes), len(files))
    except BrokenProcessPool:
        raise InfrastructureError(
            "a lint worker process died (out of memory?); rerun with fewer notebooks"
        ) from None
    results: list = [None] * len(files)
    for position, outcome in zip(order, outcomes, strict=True):
        results[position] = outcome
    return results


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


_V3_NOT_FIXED = ("not fixed: fixing would rewrite this nbformat 3 file as nbformat 4; convert"
                 " it first (jupyter nbconvert --to notebook --nbformat 4 --inplace FILE),"
                 " then run --fix again")


def _lint_one(path: Path, config: LintConfig, root: Path | None) -> LintResult | str:
    """Lint one notebook file; a message instead when it cannot be read (or a rule broke)."""
    try:
        with warnings.catch_warnings():
            # Reported once, in the result, rather than printed by each worker process.
            warnings.simplefilter("ignore", NbprodWarning)
            nb = load(path, max_bytes=config.max_size * 2**20)
        codes = ruff_codes(config)
        if config.fix and nb.upgraded_from_v3:
            nb.warnings.append(_V3_NOT_FIXED)
            config = replace(config, fix=False, diff=False)
        if config.fix:
            result = _fix(nb, config, root, codes)
        else:
            result = lint(nb, config, root)
            if codes:
                from .ruff import notebook_facts

                result.facts = notebook_facts(nb, suppressed_codes(nb))
                if result.facts.via_stdin:
                    from .ruff import check_text, ruff_input

                    items = check_text(ruff_input(nb), str(path), codes)
                    result = _merge_ruff(result, items, config)
    except (ConfigError, InfrastructureError):
        raise  # not about this notebook: stop the whole lint
    except NbprodError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad notebook must not stop the others
        return (
            f"{path}: internal error while linting ({type(exc).__name__}: {exc});"
            " this is a bug in nbprod, please report it"
        )[:400]
    result.warnings = list(nb.warnings)
    # Rule-private fix data may hold objects that cannot cross process boundaries.
    result.diagnostics = [replace(d, data={}) if d.data else d for d in result.diagnostics]
    result.fixed_notebook = None
    return result


def _merge_ruff(result: LintResult, items: list[dict], config: LintConfig) -> LintResult:
    selected = file_selector(config, result.path)
    found = _ruff_diagnostics(
        items, result.facts, selected, result.diagnostics, result.parsed_cells
    )
    result.diagnostics = sorted([*result.diagnostics, *found], key=Diagnostic.sort_key)
    return result


#: nbprod codes that say all a notebook's syntax errors mean: ruff's E999 per cell is dropped.
SUPERSEDES_E999 = ("NB014",)


def _ruff_diagnostics(
    items, facts, selected, nb_diagnostics, parsed_cells: frozenset[int] = frozenset()
) -> list[Diagnostic]:
    """Ruff's findings as diagnostics, marked where they block a rerun
    (``nbprod.lint.rerun``), without the syntax errors that are not: those in cells that
    parse as IPython (``ls data`` is an automagic, not a syntax error), and all of them in a
    notebook that NB014 already calls Python 2; and without the undefined names (F821) that
    IPython defines (``_magic_defined``)."""
    from .rerun import mark_ruff_blockers
    from .ruff import SYNTAX_ERROR_CODE, to_diagnostics

    found = to_diagnostics(items, facts, selected, nb_diagnostics)
    python2 = any(d.code in SUPERSEDES_E999 for d in nb_diagnostics)
    found = [
        d for d in found
        if not (d.code == SYNTAX_ERROR_CODE and (python2 or d.cell in parsed_cells))
        and not (d.code == "F821" and _magic_defined(d, facts))
    ]
    return mark_ruff_blockers(found)


_CELL_MAGIC = re.compile(r"^\s*%%\w+")


def _magic_defined(diagnostic: Diagnostic, facts) -> bool:
    """Whether ruff's undefined name may come from IPython: the notebook runs ``%pylab``
    (NumPy's and matplotlib's names), or the name appears in an earlier cell whose cell
    magic compiles another language into Python functions (``%%cython``, ``%%fortran``)."""
    if "pylab" in facts.magic_words:
        return True
    names = re.findall(r"`([^`]+)`", diagnostic.message)[:1]
    if not names or not diagnostic.cell:
        return False
    word = re.compile(rf"\b{re.escape(names[0])}\b")
    return any(
        _CELL_MAGIC.match(source) and word.search(source)
        for source in facts.sources[: diagnostic.cell - 1]
    )


def _fix(nb, config: LintConfig, root: Path | None, codes: tuple[str, ...]) -> LintResult:
    """nbprod's fixes, then ruff's (applied by nbprod, cell by cell), then a final lint of
    the result; the notebook is saved once, atomically, when anything changed, after the
    other files the fixes changed (a requirement moved out of the notebook is declared
    before its install line is commented out, so an interruption loses nothing).

    Fixes that change other files (NB203 declaring a package in requirements.txt) read the
    file, add to it and write it back. Other notebooks of the project may be fixed at the
    same time, by the other workers or by other nbprod processes (pre-commit runs several):
    such a notebook is fixed again while it holds the project folder's lock, from the files
    as the previous writer left them, so that no writer overwrites another's additions.
    """
    result = lint(nb, config, root)
    if result.file_edits and not config.diff:
        with folder_lock(root or nb.path.parent):
            return _apply_fixes(nb, lint(nb, config, root), config, root, codes)
    return _apply_fixes(nb, result, config, root, codes)


def _apply_fixes(nb, result: LintResult, config: LintConfig, root: Path | None,
                 codes: tuple[str, ...]) -> LintResult:
    """The rest of ``_fix``, from the result of nbprod's fixes."""
    edits = result.file_edits
    working = result.fixed_notebook or copy_notebook(nb)
    fixed = result.fixed
    ruff_diagnostics: list[Diagnostic] = []
    if codes:
        from .ruff import apply_ruff_fixes, check_text, notebook_facts, ruff_input

        allowed = {Applicability.SAFE} | (
            {Applicability.UNSAFE} if config.unsafe_fixes else set()
        )
        selected = file_selector(config, nb.display_path)
        ruff_fixed = 0
        current = True  # whether ``result`` describes ``working`` as it now is
        for attempt in range(MAX_FIX_PASSES + 1):
            items = check_text(ruff_input(working), nb.display_path, codes)
            facts = notebook_facts(working, suppressed_codes(working))
            ruff_diagnostics = _ruff_diagnostics(
                items, facts, selected, result.diagnostics, result.parsed_cells
            )
            if attempt == MAX_FIX_PASSES:
                break
            applied = apply_ruff_fixes(working, ruff_diagnostics, allowed)
            if not applied:
                break
            ruff_fixed += applied
            # Ruff's edits may leave work for nbprod's fixes (a cell emptied of its only
            # import is now an empty cell): one --fix leaves nothing a second would fix.
            # Not when they would edit other files: those edits were planned on the files
            # as they were, and the first round's are not written yet.
            again = lint(working, config, root)
            if again.fixed and not again.file_edits:
                working, fixed = again.fixed_notebook, fixed + again.fixed
            # Unless it holds fixes not taken, its findings and parsed cells describe the
            # notebook as it now is (a cell removed renumbers the ones after it): ruff's are
            # mapped against them, and they are the final state when ruff has nothing left.
            current = not (again.fixed and again.file_edits)
            if current:
                result = again
        if ruff_fixed:
            fixed += ruff_fixed
            if not current:  # ruff's edits may change what nbprod's rules see
                result = lint(working, replace(config, fix=False), root)
    if config.diff:
        from .preview import changes

        diagnostics = sorted([*result.diagnostics, *ruff_diagnostics], key=Diagnostic.sort_key)
        return LintResult(path=nb.display_path, diagnostics=diagnostics, fixed=fixed,
                          preview=changes(nb, working, edits))
    if fixed:
        for path, text in edits.items():
            atomic_write(path, text)
        save(working)
    if edits:
        # What the final lint saw predates the edited files (NB207 reads requirements).
        result = lint(working, replace(config, fix=False), root)
    diagnostics = sorted([*result.diagnostics, *ruff_diagnostics], key=Diagnostic.sort_key)
    return LintResult(path=nb.display_path, diagnostics=diagnostics, fixed=fixed,
                      file_edits=edits if fixed else {})
