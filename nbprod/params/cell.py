"""The typed parameter schema of a ``parameters`` cell: ``lr: float = 0.1  # learning rate``.

Export (keyword arguments of pipeline steps) and runs (validating ``-p`` values) read the same
cell, so the parsing lives here once. A parameters cell is plain assignments: the annotation
gives the type, the value the default (a literal, or an expression kept as written), the
trailing comment (or a comment line just above) the help text. ``x: int`` without a value is a
required parameter.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

from ..analysis import mask_ipython
from ..errors import ParameterError
from ..notebook import Cell, Notebook
from ..syntax import parse
from .model import Parameter

__all__ = ["ParameterSpec", "parameter_specs", "parameters_cell", "parse_parameters_cell"]

# Types nbprod infers from a literal default when the cell gives no annotation.
_LITERAL_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list",
                  dict: "dict", tuple: "tuple", type(None): None}


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter plus what code generators need: the default as written, and its line."""

    parameter: Parameter
    default_source: str | None  # the value expression exactly as written, or None if required
    literal: bool  # whether the default is a Python literal (so the IR holds its value)
    line: int  # 1-based within the cell
    inferred_type: str | None  # the annotation, else the type of a literal default


def parse_parameters_cell(source: str, *, where: str = "parameters cell") -> list[Parameter]:
    """Read the parameters of a ``parameters`` cell, in the order they are assigned.

    Parameters
    ----------
    source:
        The cell's code (IPython lines such as ``%matplotlib`` are ignored).
    where:
        How messages name the cell, e.g. ``"train.ipynb cell 2 (id 'a1')"``.

    Returns
    -------
    list[Parameter]
        ``type`` is the annotation as written (None when absent); ``default`` the literal value
        (None for a non-literal expression, whose text ``parameter_specs`` keeps); ``help`` the
        comment; ``required`` is True for an annotation without a value.

    Raises
    ------
    ParameterError
        When the cell does not parse, or assigns something other than plain names.
    """
    return [spec.parameter for spec in parameter_specs(source, where=where)]


def parameter_specs(source: str, *, where: str = "parameters cell") -> list[ParameterSpec]:
    """Like ``parse_parameters_cell``, with each default's source text and line kept.

    Raises
    ------
    ParameterError
        When the cell does not parse, or assigns something other than plain names.
    """
    masked, _magics, opaque = mask_ipython(source)
    if opaque:
        raise ParameterError(f"{where}: a cell magic makes the parameters unreadable; use Python")
    try:
        tree = parse(masked)
    except SyntaxError as exc:
        raise ParameterError(
            f"{where}, line {exc.lineno}: not valid Python ({exc.msg}); fix the parameters cell"
        ) from None
    comments = _comments(masked)
    lines = masked.split("\n")
    specs: dict[str, ParameterSpec] = {}
    for stmt in tree.body:
        for name, annotation, value in _assignments(stmt, where):
            help_text = comments.get(stmt.lineno) or _comment_above(lines, stmt.lineno, comments)
            type_text = ast.unparse(annotation) if annotation is not None else None
            if value is None:
                specs[name] = ParameterSpec(
                    Parameter(name, type_text, None, help_text, required=True),
                    None, False, stmt.lineno, type_text,
                )
                continue
            default_source = ast.get_source_segment(masked, value) or ast.unparse(value)
            try:
                default = ast.literal_eval(value)
                literal = True
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                default, literal = None, False
            inferred = type_text
            if inferred is None and literal:
                inferred = _LITERAL_TYPES.get(type(default))
            if isinstance(default, tuple):
                default = list(default)  # JSON has no tuples; the IR must survive a round trip
            specs.pop(name, None)  # a reassignment wins, as it would when the cell runs
            specs[name] = ParameterSpec(
                Parameter(name, type_text, default, help_text),
                default_source, literal, stmt.lineno, inferred,
            )
    return list(specs.values())


def _assignments(stmt: ast.stmt, where: str):
    """Yield (name, annotation, value) for each name a statement assigns."""
    if isinstance(stmt, ast.AnnAssign):
        if not isinstance(stmt.target, ast.Name):
            raise ParameterError(
                f"{where}, line {stmt.lineno}: only plain names can be parameters"
            )
        yield stmt.target.id, stmt.annotation, stmt.value
    elif isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                yield target.id, None, stmt.value
            elif (
                isinstance(target, ast.Tuple)
                and isinstance(stmt.value, ast.Tuple)
                and len(target.elts) == len(stmt.value.elts)
                and all(isinstance(t, ast.Name) for t in target.elts)
            ):
                for name, value in zip(target.elts, stmt.value.elts, strict=True):
                    yield name.id, None, value  # type: ignore[attr-defined]
            else:
                raise ParameterError(
                    f"{where}, line {stmt.lineno}: only plain names can be parameters"
                    " (no attributes, subscripts or unpacking)"
                )
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return  # a docstring or a bare string: documentation, not a parameter
    elif isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
        return  # imports for annotations (``from pathlib import Path``) are allowed
    else:
        raise ParameterError(
            f"{where}, line {stmt.lineno}: a parameters cell holds only assignments"
            f" (found {type(stmt).__name__}); move other code to the next cell"
        )


def _comments(source: str) -> dict[int, str]:
    """Comment text by line number (1-based)."""
    found: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                text = token.string.lstrip("#").strip()
                if text:
                    found[token.start[0]] = text
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def _comment_above(lines: list[str], lineno: int, comments: dict[int, str]) -> str | None:
    above = lineno - 1
    if above >= 1 and lines[above - 1].lstrip().startswith("#"):
        return comments.get(above)
    return None


def parameters_cell(nb: Notebook) -> Cell | None:
    """The notebook's cell tagged ``parameters`` (the first one, as papermill uses)."""
    tagged = [c for c in nb.tagged("parameters") if c.cell_type == "code"]
    return tagged[0] if tagged else None
