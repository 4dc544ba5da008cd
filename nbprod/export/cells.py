"""The code cells of a notebook as export sees them: role, clean code, def-use facts.

Every exporter starts from this one classification, so the module, the tests and the steps
agree on which cell is what. nbdev directive lines are stripped here, and IPython lines that
cannot change what the code computes (``%matplotlib inline``, ``%pip install x``) are dropped
and recorded; any other IPython syntax is refused when a cell's code is about to be generated.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

from ..analysis import CellAnalysis, Magic, analyze_source
from ..errors import ExportError, NbprodWarning
from ..notebook import Cell, Notebook
from .display import is_display

__all__ = ["SourceCell", "classify", "require_python", "first_line", "top_level_await"]

#: Roles in precedence order: a cell tagged both ``skip`` and ``export`` is skipped.
ROLES = ("skip", "parameters", "export", "test", "step", "plain")

# Line magics that configure the interactive session only: the code computes the same values
# without them. Package installs belong to the environment, not to the generated code.
SAFE_LINE_MAGICS = frozenset({
    "matplotlib", "config", "load_ext", "reload_ext", "autoreload", "aimport", "precision",
    "xmode", "pprint", "who", "whos", "lsmagic", "pip", "conda", "mamba", "notebook",
})
SAFE_SHELL_COMMANDS = frozenset({"pip", "pip3", "conda", "mamba"})
SAFE_CELL_MAGICS = frozenset({"time"})

_DIRECTIVE_RE = re.compile(r"^\s*#\|\s*[\w-]+")


@dataclass(frozen=True)
class SourceCell:
    """One code cell with its export role and the code that generated files receive."""

    cell: Cell
    role: str  # one of ROLES
    step: str | None  # the step name for role "step"
    internal: bool  # nbdev ``#| exporti``: exported, but not part of ``__all__``
    code: str  # directive lines stripped, safe IPython lines dropped
    analysis: CellAnalysis  # of ``code``
    dropped: tuple[str, ...]  # the IPython lines that were dropped
    refused: tuple[Magic, ...]  # IPython lines that cannot go into a Python file
    displays: tuple[str, ...] = ()  # display expressions left out of a step (``df.head()``)

    @property
    def index(self) -> int:
        return self.cell.index


def first_line(source: str) -> str:
    """The first non-blank line of a cell, for tables and messages."""
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def classify(nb: Notebook) -> list[SourceCell]:
    """Classify every code cell of ``nb`` (markdown and raw cells are never exported).

    The result is cached on the notebook for as long as its code cells' sources and tags
    stay the same, so the module, tests and steps exporters analyse each cell once.
    """
    fingerprint = tuple((c.source, tuple(c.tags)) for c in nb.code_cells)
    cached = getattr(nb, "_export_cells", None)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    found = _classify(nb)
    nb._export_cells = (fingerprint, found)  # type: ignore[attr-defined]
    return found


def _classify(nb: Notebook) -> list[SourceCell]:
    found = []
    for cell in nb.code_cells:
        marks = cell.marks
        step = cell.step
        if "skip" in marks:
            role = "skip"
        elif "parameters" in marks:
            role = "parameters"
        elif "export" in marks or "serve" in marks:
            role = "export"  # the serve cell's predict lives in the module, beside what it uses
        elif "test" in marks:
            role = "test"
        elif step is not None:
            role = "step"
        else:
            role = "plain"
        directives = cell.directives
        code = _strip_directives(cell.source) if directives else cell.source
        code, dropped, refused, analysis = _drop_safe_magics(code)
        displays: list[str] = []
        if role == "step" and analysis.tree is not None:
            code, displays = _drop_displays(code, analysis.tree)
            if displays:
                analysis = analyze_source(code)
        found.append(SourceCell(
            cell=cell,
            role=role,
            step=step if role == "step" else None,
            internal="exporti" in directives and "export" not in cell.tags,
            code=code,
            analysis=analysis,
            dropped=tuple(dropped),
            refused=tuple(refused),
            displays=tuple(displays),
        ))
    return found


def _drop_displays(code: str, tree: ast.Module) -> tuple[str, list[str]]:
    """Empty the lines of top-level statements that only show a value (``df.head()``,
    ``plt.show()``, a lone name): a step function computes, it does not show."""
    lines = code.split("\n")
    used: dict[int, int] = {}  # line -> statements on it
    for stmt in tree.body:
        for number in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1):
            used[number] = used.get(number, 0) + 1
    shown = []
    for stmt in tree.body:
        span = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
        if is_display(stmt) and all(used[n] == 1 for n in span):
            shown.append(ast.get_source_segment(code, stmt) or lines[stmt.lineno - 1].strip())
            for number in span:
                lines[number - 1] = ""
    return ("\n".join(lines), shown) if shown else (code, [])


def require_python(sc: SourceCell, where: str, purpose: str) -> None:
    """Refuse a cell whose code cannot go into a Python file, and note dropped lines.

    Parameters
    ----------
    sc:
        The cell.
    where:
        The notebook path as shown in messages.
    purpose:
        What the cell is exported as ("the module", "step 'train'"), for the message.

    Raises
    ------
    ExportError
        For a syntax error, a non-Python cell magic, or IPython syntax that changes values.
    """
    problem = python_problem(sc, where, purpose)
    if problem is not None:
        raise ExportError(problem)
    note_dropped(sc, where, purpose)


def note_dropped(sc: SourceCell, where: str, purpose: str) -> None:
    """Say which IPython lines of ``sc`` were dropped or rewritten: package installs (to be
    declared, as lint's NB203 fix does), timing (the statement stays), session settings."""
    label = f"{where} {sc.cell.label}"
    installs = [t.strip() for t in sc.dropped if _INSTALL_RE.match(t)]
    timed = [t.strip() for t in sc.dropped if _TIMED_RE.match(t)]
    other = [t.strip() for t in sc.dropped if t.strip() not in installs + timed]
    if installs:
        _note(f"{label}: package install {', '.join(map(repr, installs))} is not code and is"
              f" left out of {purpose}; nbprod export declares a plain pip install's packages"
              " in requirements.txt or pyproject.toml (others: declare them yourself)")
    if timed:
        _note(f"{label}: kept the statement of {', '.join(map(repr, timed))} in {purpose},"
              " without the timing")
    if other:
        _note(f"{label}: dropped IPython line{'s' if len(other) > 1 else ''}"
              f" {', '.join(map(repr, other))} from {purpose} (it only configures the"
              " interactive session)")


def _note(message: str) -> None:
    warnings.warn(message, NbprodWarning, stacklevel=3)


_INSTALL_RE = re.compile(r"^\s*[%!]?\s*(pip3?|conda|mamba)\s+install\b")
_TIMED_RE = re.compile(r"^\s*%%?(time|timeit)\b")


def python_problem(sc: SourceCell, where: str, purpose: str) -> str | None:
    """Why ``sc`` cannot go into a Python file (the message names cell, line and the fix), or
    None when it can: a non-Python cell magic, IPython syntax that is not dropped, a syntax
    error, top-level await."""
    label = f"{where} {sc.cell.label}"
    if sc.analysis.opaque:
        name = sc.analysis.magics[0].name if sc.analysis.magics else ""
        return (
            f"{label}: the cell magic %%{name} is not Python and cannot go into {purpose};"
            " remove the tag or tag the cell skip"
        )
    if sc.refused:
        magic = sc.refused[0]
        return (
            f"{label}, line {magic.line}: IPython syntax {magic.text.strip()!r} cannot go into"
            f" {purpose}; rewrite it in Python, move it to an untagged cell, or tag the cell skip"
        )
    if sc.analysis.syntax_error is not None:
        line, message = sc.analysis.syntax_error
        return (
            f"{label}, line {line}: not valid Python ({message}); fix the cell before exporting"
        )
    awaited = top_level_await(sc.analysis)
    if awaited is not None:
        return (
            f"{label}, line {awaited}: top-level await works only in a kernel, not in"
            f" {purpose}; wrap the code in an async function and call asyncio.run()"
        )
    return None


def top_level_await(analysis: CellAnalysis) -> int | None:
    """The line of an ``await`` (or ``async for/with``) outside any function, if any."""
    if analysis.tree is None:
        return None
    stack: list[ast.AST] = list(analysis.tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            return node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return None


def _strip_directives(source: str) -> str:
    """Blank out the leading block of nbdev ``#|`` directive lines.

    The lines are emptied rather than removed, so line numbers in messages stay the cell's own.
    """
    lines = source.split("\n")
    index = 0
    while index < len(lines) and (not lines[index].strip() or _DIRECTIVE_RE.match(lines[index])):
        lines[index] = ""
        index += 1
    return "\n".join(lines)


def _drop_safe_magics(source: str) -> tuple[str, list[str], list[Magic], CellAnalysis]:
    """Remove top-level IPython lines that only configure the session, keep the statement of
    a ``%time``/``%timeit`` line without the timing, and list the other IPython lines.

    Returns the code, the dropped (or rewritten) lines, the refused IPython lines and the
    analysis of the code (analysed once when there is no IPython syntax, the common case).
    """
    probe = analyze_source(source)
    if not probe.magics:
        return source, [], [], probe
    lines = source.split("\n")
    replace: dict[int, str] = {}
    refused: list[Magic] = []
    for magic in probe.magics:
        top_level = not magic.text[:1].isspace()
        indent = magic.text[: len(magic.text) - len(magic.text.lstrip())]
        timed = _timed_statement(magic)
        safe = (
            (magic.kind in ("line", "automagic") and magic.name in SAFE_LINE_MAGICS
             and magic.text.lstrip().startswith(("%", magic.name)))
            or (magic.kind == "shell" and magic.name in SAFE_SHELL_COMMANDS
                and magic.text.lstrip().startswith("!"))
            or (magic.kind == "cell" and magic.name in SAFE_CELL_MAGICS)
            or magic.kind == "help"
        )
        if timed is not None:
            replace[magic.line] = indent + timed
        elif safe and "=" not in magic.text.split(magic.name, 1)[0]:
            # Inside a block (``if on_colab: !pip install x``) the block must stay valid.
            replace[magic.line] = "" if top_level else f"{indent}pass"
        else:
            refused.append(magic)
    dropped = [lines[i - 1] for i in sorted(replace)]
    if not replace:
        return source, [], refused, probe
    # Emptied, not removed: line numbers in messages stay the cell's own.
    kept = "\n".join(replace.get(number, line) for number, line in enumerate(lines, 1))
    return kept, dropped, refused, analyze_source(kept)


_TIMEIT_VALUE_OPTIONS = frozenset({"-n", "-r", "-p"})


def _timed_statement(magic: Magic) -> str | None:
    """The statement a ``%time``/``%timeit`` line times (run once, untimed), or None."""
    text = magic.text.strip()
    if magic.kind != "line" or magic.name not in ("time", "timeit") \
            or not text.startswith(f"%{magic.name}"):
        return None
    words = text[len(magic.name) + 1:].split(" ")
    while words and (not words[0] or words[0].startswith("-")):
        option = words.pop(0)
        if option in _TIMEIT_VALUE_OPTIONS and words:
            words.pop(0)
    statement = " ".join(words).strip()
    return statement or None
