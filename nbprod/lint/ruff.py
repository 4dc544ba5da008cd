"""Ruff's Python rules on notebooks: one ruff process per batch, findings mapped to cells.

Ruff reads ``.ipynb`` files natively and reports, for each finding, the cell (1-based over
*all* cells, markdown included, as nbprod counts) and the line and column within that cell.
This module runs ruff once over every notebook of a lint (ruff parallelises internally and
runs while nbprod's own rules run in worker processes), then turns its JSON into nbprod
``Diagnostic`` objects in the same stream: cell ids added, nbprod's selection and
``# nbprod: ignore[...]`` comments applied, and the false positives that IPython magics
cause removed (names that ``%run``, ``%store -r`` and ``%%capture`` define; imports used only
in ``obj?`` help lines, line magics or the ``{expr}`` and ``$name`` of shell lines).

Ruff runs with ``--isolated`` (nbprod's selection is the only one that applies, whatever the
project's ruff settings) and ``--no-cache`` (linting never writes into the project).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError, InfrastructureError
from .ruff_binary import ruff_binary
from .rule import Applicability, Diagnostic, Severity

__all__ = [
    "NotebookFacts",
    "RuffBatch",
    "SYNTAX_ERROR_CODE",
    "apply_ruff_fixes",
    "check_text",
    "notebook_facts",
    "ruff_input",
    "to_diagnostics",
]

#: Ruff reports syntax errors without a code; nbprod files them under E999 so that the
#: usual selection (``E9`` is in the default) applies to them.
SYNTAX_ERROR_CODE = "E999"
#: Codes of nbprod rules that explain an undefined name better than ruff's F821 (the name is
#: defined in a cell further down, or by a cell that was deleted).
SUPERSEDES_F821 = ("NB004", "NB005")
#: Paths per ruff process, well under the command-line length limit.
BATCH_SIZE = 2000

_MAGIC_DEFINES = (
    re.compile(r"^\s*%store\s+-r\s+(?P<names>[\w\s]+)$"),  # %store -r a b
    re.compile(r"^\s*%%capture(?:\s+--?\w+)*\s+(?P<names>[A-Za-z_]\w*)\s*$"),  # %%capture out
)
_RUN_MAGIC = re.compile(r"^\s*%run\s")
_HELP_OR_MAGIC = re.compile(r"^\s*(?:%{1,2}\w+.*|[?]{1,2}.+|.+[?]{1,2})$")
# A shell line (``!ls {folder}``, ``files = !ls $pattern``): IPython expands the Python
# expressions in braces and the names after ``$`` before the shell sees the line.
_SHELL_LINE = re.compile(r"^\s*(?:[\w\s,]+=\s*)?!!?(?P<command>.*)$")
_SHELL_PYTHON = re.compile(r"\{([^{}]+)\}|\$(\w+)")
_HAS_SHELL_LINE = re.compile(r"^[ \t]*(?:[\w \t,]+=[ \t]*)?!", re.M)
_WORD = re.compile(r"[A-Za-z_]\w*")
_QUOTED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class NotebookFacts:
    """What mapping ruff's findings back to one notebook needs; small and picklable, so a
    worker process can compute it while the main process waits for ruff."""

    path: str
    cell_ids: tuple[str | None, ...]
    code_cells: frozenset[int]
    python: bool = True
    suppressed: dict = field(default_factory=dict)  # cell -> frozenset of codes, or None (all)
    magic_defines: dict = field(default_factory=dict)  # name -> first cell defining it
    run_cell: int | None = None  # first cell with %run (it may define any name)
    magic_words: frozenset[str] = frozenset()  # words in help lines, magics, shell {expr}
    sources: tuple[str, ...] = ()  # cell sources, to read the name an import binds
    first_seen: dict = field(default_factory=dict)  # word -> first code cell it appears in
    via_stdin: bool = False  # ruff must read this notebook's converted JSON from stdin


def notebook_facts(nb: Any, suppressed: dict) -> NotebookFacts:
    """Collect the facts about ``nb`` (a ``Notebook``) that ``to_diagnostics`` needs.

    Parameters
    ----------
    nb:
        The loaded notebook.
    suppressed:
        ``checker.suppressed_codes(nb)``: cell -> suppressed codes (None for all).
    """
    defines: dict[str, int] = {}
    run_cell: int | None = None
    words: set[str] = set()
    code_cells: set[int] = set()
    first_seen: dict[str, int] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_cells.add(cell.index)
        source = cell.source
        for word in set(_WORD.findall(source)):
            first_seen.setdefault(word, cell.index)
        if "%" not in source and "?" not in source and not (
                "!" in source and _HAS_SHELL_LINE.search(source)):
            continue  # no magic, help or shell line (most cells): nothing to read
        for line in source.splitlines():
            if run_cell is None and _RUN_MAGIC.match(line):
                run_cell = cell.index
            for pattern in _MAGIC_DEFINES:
                match = pattern.match(line)
                if match:
                    for name in match.group("names").split():
                        defines.setdefault(name, cell.index)
            if _HELP_OR_MAGIC.match(line):
                words.update(_WORD.findall(line))
            elif shell := _SHELL_LINE.match(line):
                for braces, dollar in _SHELL_PYTHON.findall(shell.group("command")):
                    words.update(_WORD.findall(braces or dollar))
    path = nb.display_path
    return NotebookFacts(
        path=path,
        cell_ids=tuple(cell.id for cell in nb.cells),
        code_cells=frozenset(code_cells),
        python=nb.is_python,
        suppressed={k: (frozenset(v) if v is not None else None) for k, v in suppressed.items()},
        magic_defines=defines,
        run_cell=run_cell,
        magic_words=frozenset(words),
        sources=tuple(cell.source for cell in nb.cells),
        first_seen=first_seen,
        via_stdin=bool(nb.warnings and any("nbformat 3" in w for w in nb.warnings))
        or not path.endswith(".ipynb") or _has_keys_ruff_refuses(nb.node),
    )


# The keys nbformat 4 defines. Ruff refuses a notebook with any other key at the top level
# or in a cell, such as the `path_` and `idx_` that fastai's tools leave (Jupyter opens
# those notebooks, with a warning), and reports the whole file as one syntax error.
_NOTEBOOK_KEYS = frozenset({"cells", "metadata", "nbformat", "nbformat_minor"})
_TEXT_CELL_KEYS = frozenset({"attachments", "cell_type", "id", "metadata", "source"})
_CELL_KEYS = {
    "code": frozenset({"cell_type", "execution_count", "id", "metadata", "outputs", "source"}),
    "markdown": _TEXT_CELL_KEYS,
    "raw": _TEXT_CELL_KEYS,
}


def _has_keys_ruff_refuses(node: dict) -> bool:
    return not node.keys() <= _NOTEBOOK_KEYS or any(
        not cell.keys() <= _CELL_KEYS.get(cell.get("cell_type"), cell.keys())
        for cell in node["cells"]
    )


def ruff_input(nb: Any) -> str:
    """``nb`` (a ``Notebook``) as JSON for ruff's stdin: only the keys nbformat 4 defines,
    which is all ruff accepts, and no outputs, which no ruff rule reads. The cells keep
    their order, so ruff's cell numbers are the notebook's."""
    node = nb.node
    cells = []
    for cell in node["cells"]:
        allowed = _CELL_KEYS.get(cell.get("cell_type"), _TEXT_CELL_KEYS)
        kept = {key: value for key, value in cell.items() if key in allowed}
        if "outputs" in kept:
            kept["outputs"] = []
        cells.append(kept)
    kept_node = {key: value for key, value in node.items() if key in _NOTEBOOK_KEYS}
    return json.dumps({**kept_node, "cells": cells}, ensure_ascii=False)


def _command(select: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    return [
        ruff_binary(),
        "check",
        "--isolated",
        "--no-cache",
        "--exit-zero",
        "--output-format",
        "json",
        "--select",
        ",".join(select),
        *extra,
    ]


def _parse_output(stdout: bytes | str, stderr: bytes | str, returncode: int) -> list[dict]:
    err = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    if returncode != 0:
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        cause = next((line for line in reversed(lines) if line.startswith(("Cause:", "error:"))),
                     lines[-1] if lines else "no message")
        if "selector" in err or "--select" in err or "invalid value" in err:
            raise ConfigError(
                f"ruff refused the rule selection: {cause}; check the codes in --select,"
                " --extend-select and [tool.nbprod.lint]"
            )
        raise InfrastructureError(f"ruff failed (exit {returncode}): {cause}")
    try:
        items = json.loads(stdout or "[]")
    except json.JSONDecodeError as exc:
        raise InfrastructureError(f"ruff printed JSON nbprod cannot read: {exc}") from None
    return items if isinstance(items, list) else []


class RuffBatch:
    """Ruff running over many notebooks in the background.

    ``start`` returns at once; ``results`` waits and groups findings by file. Ruff's JSON goes
    to an anonymous temporary file rather than a pipe, so ruff never blocks on a full pipe
    while the caller is busy, and no reader thread is needed (the caller may fork workers).
    """

    def __init__(self, paths: Iterable[str | Path], select: Sequence[str]):
        self.paths = [os.path.abspath(p) for p in paths]
        self.select = tuple(select)
        self._runs: list[tuple[subprocess.Popen, IO[bytes], IO[bytes]]] = []

    def start(self) -> RuffBatch:
        for offset in range(0, len(self.paths), BATCH_SIZE):
            chunk = self.paths[offset : offset + BATCH_SIZE]
            out = tempfile.TemporaryFile()
            err = tempfile.TemporaryFile()
            try:
                proc = subprocess.Popen(
                    [*_command(self.select), "--", *chunk],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    **_child_options(),
                )
            except OSError as exc:
                raise InfrastructureError(f"cannot start ruff: {exc}") from None
            self._runs.append((proc, out, err))
        return self

    def results(self) -> dict[str, list[dict]]:
        """Wait for ruff; findings keyed by absolute file path."""
        found: dict[str, list[dict]] = {}
        for proc, out, err in self._runs:
            code = proc.wait()
            out.seek(0)
            err.seek(0)
            items = _parse_output(out.read(), err.read(), code)
            out.close()
            err.close()
            for item in items:
                found.setdefault(os.path.abspath(str(item.get("filename", ""))), []).append(item)
        self._runs.clear()
        return found

    def cancel(self) -> None:
        """Stop ruff (when linting failed for another reason)."""
        for proc, out, err in self._runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.close()
            err.close()
        self._runs.clear()


def _child_options() -> dict[str, Any]:
    """``Popen`` options that make ruff die with nbprod, however nbprod ends.

    ``cancel`` and ``subprocess.run`` stop ruff when nbprod raises (Ctrl-C included); a
    ``kill -9`` or an unhandled signal skips them. On Linux the child asks the kernel for
    SIGKILL when its parent dies (``PR_SET_PDEATHSIG``). That request runs between fork and
    exec, which is only safe when no other thread may hold a lock the child needs, so a
    multi-threaded caller (a Jupyter server) relies on ``cancel`` alone.
    """
    prctl = _prctl()
    if prctl is None or threading.active_count() != 1:
        return {}
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)

    return {"preexec_fn": die_with_parent}


_PR_SET_PDEATHSIG = 1
_PRCTL: list[Any] = []


def _prctl() -> Any:
    """libc's ``prctl`` on Linux (looked up once, in the parent), else None."""
    if not _PRCTL:
        found = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                found = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                found = None
        _PRCTL.append(found)
    return _PRCTL[0]


def check_text(text: str, filename: str, select: Sequence[str]) -> list[dict]:
    """Run ruff on notebook JSON given as text (stdin); for converted nbformat 3 files and
    for the ``--fix`` loop, where the notebook being fixed exists only in memory."""
    name = filename if filename.endswith(".ipynb") else filename + ".ipynb"
    try:
        proc = subprocess.run(
            # Attached, so a name that starts with "-" is still the value.
            [*_command(select, (f"--stdin-filename={name}",)), "-"],
            input=text.encode("utf-8"),
            capture_output=True,
            check=False,
            **_child_options(),
        )
    except OSError as exc:
        raise InfrastructureError(f"cannot start ruff: {exc}") from None
    return _parse_output(proc.stdout, proc.stderr, proc.returncode)


def to_diagnostics(
    items: Iterable[dict],
    facts: NotebookFacts,
    is_selected: Any,
    nb_diagnostics: Sequence[Diagnostic] = (),
) -> list[Diagnostic]:
    """Turn ruff's JSON findings for one notebook into nbprod diagnostics.

    Parameters
    ----------
    items:
        Ruff's JSON objects for this notebook.
    facts:
        ``notebook_facts`` of the same notebook.
    is_selected:
        ``code -> bool``: nbprod's selection for this file (select, ignore, per-file-ignores).
    nb_diagnostics:
        nbprod's own findings for the notebook; an NB004/NB005 finding on a name replaces
        ruff's F821 on the same name in the same cell.
    Returns
    -------
    list[Diagnostic]
        Unsorted.
    """
    if not facts.python:
        return []
    superseded = {
        (d.cell, name)
        for d in nb_diagnostics
        if d.code in SUPERSEDES_F821
        for name in _QUOTED.findall(d.message)[:1]
    }
    found: list[Diagnostic] = []
    for item in items:
        code = item.get("code") or SYNTAX_ERROR_CODE
        if code == "invalid-syntax":
            code = SYNTAX_ERROR_CODE
        cell = item.get("cell")
        if not isinstance(cell, int) or not 1 <= cell <= len(facts.cell_ids):
            cell = None
        if not is_selected(code):
            continue
        suppressed = facts.suppressed.get(cell, frozenset()) if cell else frozenset()
        if cell in facts.suppressed and (suppressed is None or code in suppressed):
            continue
        if _magic_false_positive(code, item, cell, facts, superseded):
            continue
        found.append(_diagnostic(item, code, cell, facts))
    return _first_syntax_error_per_cell(found)


def _first_syntax_error_per_cell(found: list[Diagnostic]) -> list[Diagnostic]:
    """Only the first syntax error of each cell. Ruff recovers from a syntax error and
    reports what follows from it as well (five errors for ``df.loc[(:, 1), (:, 'HR')]``);
    Python stops at the first, and so does the reader fixing it."""
    first: dict[int | None, Diagnostic] = {}
    for diagnostic in found:
        if diagnostic.code != SYNTAX_ERROR_CODE:
            continue
        seen = first.get(diagnostic.cell)
        if seen is None or (diagnostic.line, diagnostic.column) < (seen.line, seen.column):
            first[diagnostic.cell] = diagnostic
    return [d for d in found if d.code != SYNTAX_ERROR_CODE or first[d.cell] is d]


def _magic_false_positive(
    code: str,
    item: dict,
    cell: int | None,
    facts: NotebookFacts,
    superseded: set,
) -> bool:
    message = str(item.get("message", ""))
    names = _QUOTED.findall(message)
    if not names:
        return False
    name = names[0]
    if code == "F821":
        from ..analysis import ALWAYS_DEFINED

        if name in ALWAYS_DEFINED or name in facts.magic_defines or (cell, name) in superseded:
            return True
        return facts.run_cell is not None and cell is not None and facts.run_cell <= cell
    if code == "F401":
        bound = _bound_name(item, cell, facts.sources) or name.split(".")[0]
        # A name used in a cell above its import is the out-of-order case NB004 reports;
        # ruff calls the import unused, and its fix would delete an import the notebook needs.
        used_above = cell is not None and facts.first_seen.get(bound, cell) < cell
        return bound in facts.magic_words or used_above
    return False


def _bound_name(item: dict, cell: int | None, sources: Sequence[str]) -> str | None:
    """The name an import binds (``pd`` in ``import pandas as pd``), read from the cell."""
    if not sources or cell is None or cell > len(sources):
        return None
    start, end = item.get("location") or {}, item.get("end_location") or {}
    if start.get("row") != end.get("row"):
        return None
    lines = sources[cell - 1].split("\n")
    row = start.get("row", 0)
    if not 1 <= row <= len(lines):
        return None
    text = lines[row - 1][start.get("column", 1) - 1 : end.get("column", 1) - 1]
    words = _WORD.findall(text)
    return words[-1] if words else None


def _diagnostic(item: dict, code: str, cell: int | None, facts: NotebookFacts) -> Diagnostic:
    start = item.get("location") or {}
    end = item.get("end_location") or {}
    fix = item.get("fix") or None
    applicability = None
    if isinstance(fix, dict) and fix.get("applicability") in ("safe", "unsafe"):
        applicability = Applicability(fix["applicability"])
    severity = Severity.ERROR if code == SYNTAX_ERROR_CODE or code.startswith("F8") else (
        Severity.WARNING
    )
    return Diagnostic(
        code=code,
        name=str(item.get("name") or ("syntax-error" if code == SYNTAX_ERROR_CODE else code)),
        message=str(item.get("message", "")),
        severity=severity,
        path=facts.path,
        cell=cell,
        cell_id=facts.cell_ids[cell - 1] if cell else None,
        line=int(start.get("row") or 1),
        column=int(start.get("column") or 1),
        end_line=end.get("row"),
        end_column=end.get("column"),
        fix_title=fix.get("message") if applicability else None,
        fix_applicability=applicability,
        url=item.get("url"),
        data={"ruff_edits": fix.get("edits", [])} if applicability else {},
    )


def apply_ruff_fixes(nb: Any, diagnostics: Iterable[Diagnostic], allowed: set) -> int:
    """Apply the edits of fixable ruff ``diagnostics`` to ``nb``'s cells (in place).

    Edits are in cell coordinates (1-based row, 1-based character column). Edits of one cell
    are applied from the end of the cell backwards; an edit overlapping one already applied
    is left for the next pass, as ruff does. Fixes that are right one by one can be wrong
    together: removing both statements of a function body (two F841 fixes) leaves no body.
    As ruff does, a cell that parsed before and would not after keeps only its last fix; the
    next pass asks ruff again, which then writes ``pass`` where a body would be empty. A
    fix that breaks the cell by itself is not applied.

    Returns
    -------
    int
        How many diagnostics were fixed.
    """
    by_cell: dict[int, list[list[dict]]] = {}
    for diag in diagnostics:
        edits = diag.data.get("ruff_edits")
        if diag.cell and edits and diag.fix_applicability in allowed:
            by_cell.setdefault(diag.cell, []).append(edits)
    cells = nb.cells
    fixed = 0
    for index, fixes in by_cell.items():
        cell = cells[index - 1]
        source = cell.source
        spans = []
        for edits in fixes:
            converted = [
                (_offset(source, e.get("location")), _offset(source, e.get("end_location")),
                 str(e.get("content") or ""))
                for e in edits
            ]
            spans.append((min(s for s, _, _ in converted), max(e for _, e, _ in converted),
                          converted))
        spans.sort(key=lambda s: s[0], reverse=True)
        edited, count = _apply_spans(source, spans)
        if _parses(source) and not _parses(edited):
            edited, count = _apply_spans(source, spans[:1])
            if not _parses(edited):
                edited, count = source, 0
        cell.source = edited
        fixed += count
    return fixed


def _apply_spans(source: str, spans: list[tuple[int, int, list]]) -> tuple[str, int]:
    """``source`` with the fixes ``spans`` (sorted from the end) applied, and how many were;
    a fix overlapping one already applied is skipped."""
    limit = len(source)
    applied = 0
    for start, end, converted in spans:
        if end > limit:
            continue  # overlaps an edit already applied; the next pass retries it
        for e_start, e_end, content in sorted(converted, key=lambda c: c[0], reverse=True):
            source = source[:e_start] + content + source[e_end:]
        limit = start
        applied += 1
    return source, applied


def _parses(source: str) -> bool:
    """Whether a cell's source is Python once its IPython lines are masked."""
    import ast

    from ..analysis import mask_ipython

    try:
        ast.parse(mask_ipython(source)[0])
    except (SyntaxError, ValueError):
        return False
    return True


def _offset(source: str, location: Any) -> int:
    """Character offset in ``source`` of a ruff (row, column) location, clamped to the end."""
    location = location or {}
    row = max(int(location.get("row") or 1), 1)
    column = max(int(location.get("column") or 1), 1)
    lines = source.split("\n")
    if row > len(lines):
        return len(source)
    offset = sum(len(line) + 1 for line in lines[: row - 1])
    return min(offset + min(column - 1, len(lines[row - 1]) + 1), len(source))
