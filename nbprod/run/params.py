"""Run parameters: the schema of the ``parameters`` cell, coercion of given values, safe injection.

Values arrive as text (``-p lr 0.1``) or as YAML data (``-f params.yaml``). Each is checked
against the declared type and converted to a Python value; the injected cell is then written by
nbprod itself from those values, as literals only, so no value can ever become code (papermill
formats values into source text with its translators and only warns about unknown names).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ..config import suggest
from ..errors import NbprodError, ParameterError
from ..notebook import Cell, Notebook, load
from ..params_schema import ParameterSpec, parameter_specs
from ..syntax import parse

__all__ = [
    "INJECTED_TAG",
    "REDACTED",
    "ParamInfo",
    "TypeSpec",
    "coerce",
    "inject",
    "is_secret",
    "load_parameter_file",
    "parameters_cell",
    "parse_type",
    "redact",
    "render_assignments",
    "resolve",
    "schema",
]

INJECTED_TAG = "injected-parameters"
REDACTED = "***"

# Names whose values never reach the receipt or the stored output notebook.
_SECRET_RE = re.compile(r"(token|passw(or)?d|secret|api_?key|private_?key|credential|(^|_)key$)",
                        re.IGNORECASE)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null", "~"}


@dataclass(frozen=True)
class TypeSpec:
    """A declared parameter type, reduced to what coercion needs.

    ``base`` is one of int, float, bool, str, list, dict, date, datetime, path, literal, any.
    ``args`` holds element types (list, dict) or the allowed choices (literal).
    """

    base: str
    args: tuple = ()
    optional: bool = False

    def describe(self) -> str:
        if self.base == "literal":
            text = "one of " + ", ".join(repr(c) for c in self.args)
        elif self.base in ("list", "dict") and self.args:
            text = f"{self.base}[{', '.join(a.describe() for a in self.args)}]"
        else:
            text = {"path": "Path", "any": "any value"}.get(self.base, self.base)
        return text + " or None" if self.optional else text


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a notebook's schema, with its type understood."""

    name: str
    type: str | None  # the annotation as written
    default: Any
    default_source: str | None
    help: str | None
    required: bool
    spec: TypeSpec

    def to_dict(self) -> dict:
        """JSON form used by ``nbprod params --output-format json`` and the server."""
        default = self.default if _json_safe(self.default) else None
        return {
            "name": self.name,
            "type": self.type or (self.spec.base if self.spec.base != "any" else None),
            "default": REDACTED if is_secret(self.name) and default is not None else default,
            "default_source": None if is_secret(self.name) else self.default_source,
            "help": self.help,
            "required": self.required,
            "choices": list(self.spec.args) if self.spec.base == "literal" else None,
        }


_NAMES = {
    "int": "int", "float": "float", "bool": "bool", "str": "str",
    "list": "list", "List": "list", "tuple": "list", "Tuple": "list", "Sequence": "list",
    "dict": "dict", "Dict": "dict", "Mapping": "dict",
    "date": "date", "datetime": "datetime",
    "Path": "path", "PosixPath": "path", "PurePath": "path",
    "Any": "any", "object": "any",
}


def parse_type(annotation: str | None) -> TypeSpec:
    """Understand an annotation such as ``list[int]``, ``Literal['a', 'b']``, ``int | None``.

    Unknown annotations (a class of the notebook's own) become ``any``: values are then taken
    as given (YAML data) or as text (``-p``).
    """
    if not annotation:
        return TypeSpec("any")
    try:
        node = parse(annotation, mode="eval").body
    except SyntaxError:
        return TypeSpec("any")
    return _type_of(node)


def _type_of(node: ast.expr) -> TypeSpec:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return parse_type(node.value)  # a string annotation: "int"
    if isinstance(node, ast.Constant) and node.value is None:
        return TypeSpec("none")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([_type_of(node.left), _type_of(node.right)])
    if isinstance(node, ast.Subscript):
        head = _dotted_tail(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head == "Literal":
            choices = []
            for item in items:
                try:
                    choices.append(ast.literal_eval(item))
                except ValueError:
                    return TypeSpec("any")
            return TypeSpec("literal", tuple(choices))
        if head == "Optional":
            return _union([_type_of(items[0]), TypeSpec("none")])
        if head == "Union":
            return _union([_type_of(item) for item in items])
        base = _NAMES.get(head or "", "any")
        if base == "list":
            element = _type_of(items[0]) if items and not _is_ellipsis(items[0]) else None
            return TypeSpec("list", (element,) if element and element.base != "any" else ())
        if base == "dict" and len(items) == 2:
            value = _type_of(items[1])
            return TypeSpec("dict", (value,) if value.base != "any" else ())
        return TypeSpec(base)
    return TypeSpec(_NAMES.get(_dotted_tail(node) or "", "any"))


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _dotted_tail(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr  # typing.Literal, datetime.date, pathlib.Path
    return None


def _union(members: list[TypeSpec]) -> TypeSpec:
    optional = any(m.base == "none" or m.optional for m in members)
    real = [m for m in members if m.base != "none"]
    if len(real) != 1:
        return TypeSpec("any", optional=optional)
    only = real[0]
    return TypeSpec(only.base, only.args, optional)


def parameters_cell(nb: Notebook) -> Cell | None:
    """The notebook's cell tagged ``parameters`` (the first one, as papermill uses)."""
    tagged = [c for c in nb.tagged("parameters") if c.cell_type == "code"]
    return tagged[0] if tagged else None


def schema(nb: Notebook) -> list[ParamInfo]:
    """The parameters a notebook declares, in the order its parameters cell assigns them.

    Raises
    ------
    ParameterError
        When the parameters cell holds something other than assignments.
    """
    cell = parameters_cell(nb)
    if cell is None:
        return []
    where = f"{nb.display_path} {cell.label}"
    return [_info(spec) for spec in parameter_specs(cell.source, where=where)]


def _info(spec: ParameterSpec) -> ParamInfo:
    param = spec.parameter
    declared = parse_type(param.type)
    if declared.base == "any" and param.type is None and spec.inferred_type:
        declared = parse_type(spec.inferred_type)
    if param.type is None and spec.literal and param.default is None:
        declared = TypeSpec("any", optional=True)  # ``x = None``: anything, including None
    return ParamInfo(param.name, param.type, param.default, spec.default_source, param.help,
                     param.required, declared)


def resolve(
    params: list[ParamInfo],
    given: dict[str, Any],
    *,
    texts: frozenset[str] = frozenset(),
    where: str = "notebook",
) -> dict[str, Any]:
    """Check and convert the given values against the schema.

    Parameters
    ----------
    params:
        The notebook's schema (``schema(nb)``).
    given:
        Name -> value. Values whose names are in ``texts`` came from the command line as text;
        the others are data (YAML, JSON, Python).
    where:
        How messages name the notebook.

    Returns
    -------
    dict
        Name -> coerced value, in the order given.

    Raises
    ------
    ParameterError
        For an unknown name (with a did-you-mean), a value of the wrong type, or a required
        parameter without a value.
    """
    by_name = {p.name: p for p in params}
    if given and not by_name:
        raise ParameterError(
            f"{where}: parameters were given ({', '.join(sorted(given))}) but the notebook has no"
            " cell tagged 'parameters'; tag the cell that assigns them"
        )
    values: dict[str, Any] = {}
    for name, value in given.items():
        info = by_name.get(name)
        if info is None:
            raise ParameterError(
                f"{where}: unknown parameter {name!r}{suggest(name, list(by_name))};"
                f" known: {', '.join(by_name)}"
            )
        values[name] = coerce(info, value, from_text=name in texts, where=where)
    missing = [p.name for p in params if p.required and p.name not in values]
    if missing:
        raise ParameterError(
            f"{where}: required parameter{'s' if len(missing) > 1 else ''}"
            f" {', '.join(repr(m) for m in missing)} not given; pass -p NAME VALUE"
        )
    return values


def coerce(info: ParamInfo, value: Any, *, from_text: bool, where: str = "notebook") -> Any:
    """Convert one value to the parameter's declared type.

    Raises
    ------
    ParameterError
        Naming the parameter, the expected type and the value.
    """
    try:
        return _coerce(info.spec, value, from_text)
    except (ValueError, TypeError) as exc:
        shown = REDACTED if is_secret(info.name) else _preview(value)
        detail = f": {exc}" if str(exc) else ""
        raise ParameterError(
            f"{where}: parameter {info.name!r} expects {info.spec.describe()}, got {shown}{detail}"
        ) from None


def coerce_text(name: str, text: str, type_name: str | None, *, where: str) -> Any:
    """One command-line value for a parameter of declared (or inferred) type ``type_name``.

    The same reading as ``nbprod run -p`` gives: pipelines call this, so ``-p flag on`` or
    ``-p ids '[1, "a"]'`` mean the same thing (or fail the same way) everywhere.
    """
    spec = parse_type(type_name) if type_name else TypeSpec("any")
    info = ParamInfo(name, type_name, None, None, None, False, spec)
    return coerce(info, text, from_text=True, where=where)


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _coerce(spec: TypeSpec, value: Any, from_text: bool) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Undecodable bytes on the command line: they could not be stored in the notebook.
            raise ValueError("not valid UTF-8 text") from None
    if from_text and spec.optional and isinstance(value, str) and value.lower() in _NONE:
        return None
    if value is None:
        if spec.optional or spec.base == "any":
            return None
        raise ValueError("")
    handler = _COERCERS[spec.base]
    return handler(spec, value, from_text)


def _to_int(spec: TypeSpec, value: Any, from_text: bool) -> int:
    if from_text and isinstance(value, str):
        return int(value.strip())
    if isinstance(value, bool):
        raise TypeError("")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError("")


def _to_float(spec: TypeSpec, value: Any, from_text: bool) -> float:
    if from_text and isinstance(value, str):
        return float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("")
    return float(value)


def _to_bool(spec: TypeSpec, value: Any, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("use true or false")
    raise TypeError("")


def _to_str(spec: TypeSpec, value: Any, from_text: bool) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # lossless; a YAML float or bool is not (quote it)
    raise TypeError("quote the value")


def _to_list(spec: TypeSpec, value: Any, from_text: bool) -> list:
    if from_text and isinstance(value, str):
        value = _parse_data(value)
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise TypeError("write a list such as [1, 2]")
    if spec.args:
        return [_coerce(spec.args[0], item, False) for item in value]
    return value


def _to_dict(spec: TypeSpec, value: Any, from_text: bool) -> dict:
    if from_text and isinstance(value, str):
        value = _parse_data(value)
    if not isinstance(value, dict):
        raise TypeError('write a mapping such as {"a": 1}')
    if spec.args:
        return {key: _coerce(spec.args[0], item, False) for key, item in value.items()}
    return value


def _to_date(spec: TypeSpec, value: Any, from_text: bool) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError("a date has no time of day")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise TypeError("use YYYY-MM-DD")


def _to_datetime(spec: TypeSpec, value: Any, from_text: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip())
    raise TypeError("use YYYY-MM-DDTHH:MM:SS")


def _to_path(spec: TypeSpec, value: Any, from_text: bool) -> Path:
    if isinstance(value, (str, PurePath)) and str(value):
        return Path(value)
    raise TypeError("")


def _to_choice(spec: TypeSpec, value: Any, from_text: bool) -> Any:
    for choice in spec.args:
        if value == choice and type(value) is type(choice):
            return choice
        if from_text and isinstance(value, str) and value == _choice_text(choice):
            return choice
    names = [_choice_text(c) for c in spec.args]
    hint = suggest(str(value), names) if isinstance(value, str) else ""
    raise ValueError(hint.strip(" ()") if hint else "")


def _choice_text(choice: Any) -> str:
    if isinstance(choice, bool):
        return "true" if choice else "false"
    return str(choice)


def _to_any(spec: TypeSpec, value: Any, from_text: bool) -> Any:
    return value  # text stays text: annotate the parameter to have it converted


_COERCERS = {
    "int": _to_int, "float": _to_float, "bool": _to_bool, "str": _to_str, "list": _to_list,
    "dict": _to_dict, "date": _to_date, "datetime": _to_datetime, "path": _to_path,
    "literal": _to_choice, "any": _to_any,
}


def _parse_data(text: str) -> Any:
    """A list or mapping given on the command line: JSON, else YAML flow style (``[a, b]``)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not JSON or YAML ({str(exc).splitlines()[0]})") from None


def load_parameter_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (or JSON) file of parameters: a mapping of name to value.

    Raises
    ------
    ParameterError
        When the file is missing, not YAML, or not a mapping with text keys.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such parameter file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: cannot read parameter file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ParameterError(f"{path}{line}: not valid YAML; fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ParameterError(f"{path}: must be a mapping of parameter names to values")
    return data


# --- injection ----------------------------------------------------------------------------


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
    if isinstance(value, (list, tuple)):
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
    if isinstance(node, ast.List):
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


def values_used(params: list[ParamInfo], given: dict[str, Any]) -> list[dict[str, Any]]:
    """Every value a run used: the ``given`` ones, then the schema's defaults for the rest.

    ``given`` is a receipt's (already redacted) parameters; defaults of secret-named
    parameters are redacted here. Each entry says whether the value was given or defaulted,
    so ``runs show`` can list what the run really used, not only what was overridden.
    """
    declared = {p.name: p for p in params}
    rows = [{"name": name, "value": value, "given": True,
             "type": declared[name].to_dict()["type"] if name in declared else None}
            for name, value in given.items()]
    for param in params:
        if param.name not in given and not param.required:
            rows.append({"name": param.name, "value": param.to_dict()["default"],
                         "given": False, "type": param.to_dict()["type"]})
    return rows


def parameters_used(receipt: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    """The values a recorded run used: its own, and its notebook's defaults for the others.

    The defaults come from the parameters cell of the run's executed notebook (the code that
    ran, not today's notebook); without a readable one only the given values are known.
    """
    given = receipt.get("parameters") or {}
    output = run_dir / "output.ipynb"
    try:
        declared = schema(load(output)) if output.is_file() else []
    except NbprodError:
        declared = []
    return values_used(declared, given)


# --- secrets -------------------------------------------------------------------------------


def is_secret(name: str) -> bool:
    """Whether a parameter's name says it holds a secret (token, password, api_key ...)."""
    return bool(_SECRET_RE.search(name))


def redact(values: dict[str, Any], also: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """JSON-ready parameters with secret values replaced by ``***``: those of secret names,
    and those of the names in ``also`` (values that look like credentials)."""
    return {name: REDACTED if is_secret(name) or name in also else to_json(value)
            for name, value in values.items()}


def to_json(value: Any) -> Any:
    """A coerced value as JSON data (dates as ISO text, paths as text, NaN as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
