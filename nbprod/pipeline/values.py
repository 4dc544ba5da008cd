"""Command-line text to parameter values: ``-p lr 0.1`` gives the float 0.1, not "0.1"."""

from __future__ import annotations

import ast
from typing import Any

from ..errors import ParameterError

__all__ = ["parse_value", "split_values"]

_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def parse_value(text: str, type_name: str | None = None, *, name: str = "value") -> Any:
    """Turn ``text`` into a value of the declared type, or guess from its look when untyped.

    Parameters
    ----------
    text:
        The value as typed on the command line.
    type_name:
        The annotation of the parameter ("int", "float", "bool", "str", "list[int]"...), if any.
    name:
        The parameter's name, for the error message.

    Raises
    ------
    ParameterError
        When ``text`` cannot be read as the declared type.
    """
    base = (type_name or "").split("[")[0].strip()
    try:
        if base == "str":
            return text
        if base == "int":
            return int(text)
        if base == "float":
            return float(text)
        if base == "bool":
            return _BOOLS[text.strip().lower()]
    except (ValueError, KeyError):
        raise ParameterError(
            f"parameter {name!r}: {text!r} is not a valid {base}"
        ) from None
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def split_values(text: str, type_name: str | None = None, *, name: str = "value") -> list[Any]:
    """A comma-separated list of values (``0.1,0.01``); a Python list literal is also accepted."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, list):
            return value
    return [parse_value(part.strip(), type_name, name=name) for part in text.split(",")]
