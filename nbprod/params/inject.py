"""The injected-parameters cell, written by nbprod from coerced values as literals only.

papermill formats values into source text with its translators and only warns about unknown
names; here the cell is built from the values' types and then checked to hold nothing but
assignments of literals, so no value can ever become code.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from pathlib import PurePath
from typing import Any

from ..errors import ParameterError
from ..syntax import parse

__all__ = ["INJECTED_TAG", "inject", "render_assignments"]

INJECTED_TAG = "injected-parameters"


def render_assignments(values: dict[str, Any]) -> str:
    """The source of the injected cell: one ``name = <literal>`` line per value.

    The text is built from the values' types, never from their text, and then checked: the
    result may contain only assignments of literals (and calls to ``date``, ``datetime``,
    ``Path`` and ``float('nan')``), so a value cannot become code whatever it contains.

    Raises
    ------
    ParameterError
        When a value has a type that has no literal form (a bug in the caller's coercion).
    """
    lines = ["# Parameters"]
    for name, value in values.items():
        if not name.isidentifier():
            raise ParameterError(f"parameter name {name!r} is not a Python identifier")
        lines.append(f"{name} = {_literal(value, name)}")
    source = "\n".join(lines) + "\n"
    _check_literal_only(source)
    return source


def _literal(value: Any, name: str) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(float(value))
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, dt.datetime):
        parts = [value.year, value.month, value.day, value.hour, value.minute, value.second,
                 value.microsecond]
        text = f"__import__('datetime').datetime({', '.join(map(str, parts))}"
        if value.tzinfo is not None:
            offset = value.utcoffset()
            assert offset is not None
            text += (", tzinfo=__import__('datetime').timezone(__import__('datetime')"
                     f".timedelta(seconds={int(offset.total_seconds())}))")
        return text + ")"
    if isinstance(value, dt.date):
        return f"__import__('datetime').date({value.year}, {value.month}, {value.day})"
    if isinstance(value, PurePath):
        return f"__import__('pathlib').Path({str(value)!r})"
    if isinstance(value, tuple):  # a tuple parameter stays a tuple: (1,) and () included
        items = [_literal(v, name) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, name) for v in value) + "]"
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ParameterError(f"parameter {name!r}: mapping keys must be text or numbers")
            items.append(f"{_literal(key, name)}: {_literal(item, name)}")
        return "{" + ", ".join(items) + "}"
    raise ParameterError(
        f"parameter {name!r}: a {type(value).__name__} value cannot be injected; use text,"
        " numbers, booleans, lists, mappings, dates or paths"
    )


_ALLOWED_CALLS = {
    ("float",): {"nan", "inf", "-inf"},
}


def _check_literal_only(source: str) -> None:
    """Refuse any injected source that is more than literal assignments (defence in depth)."""
    tree = parse(source)
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise ParameterError("internal error: injected parameters are not plain assignments")
        _check_value(stmt.value)


def _check_value(node: ast.expr) -> None:
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant):
        return
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            _check_value(item)
        return
    if isinstance(node, ast.Dict):
        for part in [*node.keys, *node.values]:
            if part is None:
                raise ParameterError("internal error: '**' in injected parameters")
            _check_value(part)
        return
    if isinstance(node, ast.Call) and _is_allowed_call(node):
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            _check_value(arg)
        return
    raise ParameterError(
        f"internal error: injected parameters contain {type(node).__name__}, not a literal"
    )


def _is_allowed_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "float":
        return (len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in _ALLOWED_CALLS[("float",)] and not node.keywords)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
        inner = func.value
        module = (inner.args[0].value if isinstance(inner.func, ast.Name)
                  and inner.func.id == "__import__" and len(inner.args) == 1
                  and isinstance(inner.args[0], ast.Constant) else None)
        allowed = {"datetime": {"date", "datetime", "timezone", "timedelta"},
                   "pathlib": {"Path"}}
        return module in allowed and func.attr in allowed[module]
    return False


def inject(nb_node: Any, values: dict[str, Any]) -> int | None:
    """Insert (or replace) the ``injected-parameters`` cell after the ``parameters`` cell.

    Works on an nbformat node in place (a copy of the input notebook, never the file).

    Returns
    -------
    int or None
        The 0-based position of the injected cell, or None when there was nothing to inject.
    """
    if not values:
        return None
    source = render_assignments(values)
    cells = nb_node.cells
    for index, cell in enumerate(cells):
        if INJECTED_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = source
            return index
    # A cell of the notebook's own node type (attribute access for nbclient), built directly:
    # nbformat.v4's constructor would import nbformat's validator for one dict.
    node = type(nb_node)
    new = node({"cell_type": "code", "execution_count": None, "id": "",
                "metadata": node({"tags": [INJECTED_TAG]}), "outputs": [], "source": source})
    taken = {c.get("id") for c in cells}
    new_id, suffix = INJECTED_TAG, 1
    while new_id in taken:
        suffix += 1
        new_id = f"{INJECTED_TAG}-{suffix}"
    if nb_node.get("nbformat_minor", 0) >= 5:
        new["id"] = new_id
    else:
        new.pop("id", None)
    position = next((i + 1 for i, c in enumerate(cells)
                     if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    cells.insert(position, new)
    return position
