"""Command-line text to parameter values for sweeps and pipelines.

Pipelines read ``-p`` values exactly as ``nbprod run`` does (``run.params.coerce_text``), so the
same text gives the same value, or the same error, on every path; sweeps only split the text
into its values here and leave the reading to the notebook's schema (``sweep.check_points``).
"""

from __future__ import annotations

import ast
from typing import Any

__all__ = ["parse_value", "split_values"]


def parse_value(text: str, type_name: str | None = None, *, name: str = "value",
                where: str = "pipeline") -> Any:
    """Turn ``text`` into a value of the declared type (text stays text when untyped).

    Raises
    ------
    ParameterError
        When ``text`` cannot be read as the declared type, naming the parameter.
    """
    from ..run.params import coerce_text

    return coerce_text(name, text, type_name, where=where)


def split_values(text: str) -> list[Any]:
    """The values of ``-p NAME v1,v2,...`` as text; a Python/JSON list literal gives its items.

    The items of a list literal are data (``[0.1, 0.2]``); comma-separated items stay text, to
    be read against the parameter's type like ``nbprod run -p`` values.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if isinstance(value, list):
            return value
    return [part.strip() for part in text.split(",")]
