"""A notebook's parameter schema and the one coercer of the values given for it.

Values arrive as text (``-p lr 0.1``, a sweep's ``-p lr 0.1,0.2``, a pipeline script's
``--lr 0.1``) or as data (YAML, JSON, Python). Each is checked against the declared type and
converted to a Python value here, for every command alike.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ..config import suggest
from ..errors import ParameterError
from ..notebook import Notebook
from ..syntax import parse
from .cell import ParameterSpec, parameter_specs, parameters_cell
from .redact import REDACTED, is_secret, json_safe

__all__ = [
    "ParamInfo",
    "RawText",
    "TypeSpec",
    "coerce",
    "coerce_text",
    "expected",
    "parse_type",
    "resolve",
    "schema",
    "split_values",
]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null", "~"}


@dataclass(frozen=True)
class TypeSpec:
    """A declared parameter type, reduced to what coercion needs.

    ``base`` is one of int, float, bool, str, list, tuple, dict, date, datetime, path,
    literal, any. ``args`` holds the element type (list, ``tuple[T, ...]``), the value type
    (dict), the type of each position (``items``: ``tuple[int, str]``) or the allowed choices
    (literal).
    """

    base: str
    args: tuple = ()
    optional: bool = False

    def describe(self) -> str:
        if self.base == "literal":
            text = "one of " + ", ".join(repr(c) for c in self.args)
        elif self.base == "list" and self.args:
            text = f"list[{self.args[0].describe()}]"
        elif self.base == "tuple" and self.args:
            text = f"tuple[{self.args[0].describe()}, ...]"
        elif self.base == "items":
            text = f"tuple[{', '.join(a.describe() for a in self.args) or '()'}]"
        elif self.base == "dict" and self.args:
            text = f"dict[str, {self.args[0].describe()}]"
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
        default = self.default if json_safe(self.default) else None
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
    "list": "list", "List": "list", "tuple": "tuple", "Tuple": "tuple", "Sequence": "list",
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
        if base == "tuple" and not (len(items) == 2 and _is_ellipsis(items[1])):
            if len(items) == 1 and isinstance(items[0], ast.Tuple) and not items[0].elts:
                return TypeSpec("items")  # tuple[()]: the empty tuple
            # tuple[int, str]: one value per position, each of its own type.
            return TypeSpec("items", tuple(_type_of(item) for item in items))
        if base in ("list", "tuple"):
            element = _type_of(items[0]) if items and not _is_ellipsis(items[0]) else None
            return TypeSpec(base, (element,) if element and element.base != "any" else ())
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


class RawText(str):
    """A value given with ``-r``: text that stays text, never parsed. Only a mark, so that a
    type error can say where the text came from."""

    __slots__ = ()


def coerce(info: ParamInfo, value: Any, *, from_text: bool, where: str = "notebook") -> Any:
    """Convert one value to the parameter's declared type.

    Raises
    ------
    ParameterError
        Naming the parameter, the expected type (as the notebook declares it) and the value.
    """
    try:
        return _coerce(info.spec, value, from_text)
    except (ValueError, TypeError) as exc:
        shown = REDACTED if is_secret(info.name) else _preview(value)
        detail = f": {exc}" if str(exc) else ""
        if isinstance(value, RawText):
            detail += f" (-r keeps a value as text; pass -p {info.name} VALUE to read it as" \
                      f" {expected(info)})"
        raise ParameterError(
            f"{where}: parameter {info.name!r} expects {expected(info)}, got {shown}{detail}"
        ) from None


def expected(info: ParamInfo) -> str:
    """The type a parameter expects, for messages: its annotation exactly as written
    (``dict[str, int]``, ``tuple[int, ...]``, ``int | None``), the choices of a ``Literal``,
    or, without an annotation, the type of its default."""
    written = " ".join((info.type or "").split())
    if written and info.spec.base != "literal" and not written.startswith(("'", '"')):
        return written
    return info.spec.describe()


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
        value = _tuple_literal(value) if value.strip().startswith("(") else _parse_data(value)
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise TypeError("write a list such as [1, 2]")
    if spec.args:
        return [_coerce(spec.args[0], item, False) for item in value]
    return value


def _to_tuple(spec: TypeSpec, value: Any, from_text: bool) -> tuple:
    """``tuple[T, ...]`` or ``tuple``: a list (JSON and YAML have no tuples) made a tuple."""
    return tuple(_to_list(spec, value, from_text))


def _to_items(spec: TypeSpec, value: Any, from_text: bool) -> tuple:
    """``tuple[int, str]``: exactly one value per position, each of its own type."""
    items = _to_list(TypeSpec("list"), value, from_text)
    if len(items) != len(spec.args):
        raise ValueError(f"{len(spec.args)} values are needed, not {len(items)}")
    return tuple(_coerce(kind, item, False) for kind, item in zip(spec.args, items, strict=True))


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
    "tuple": _to_tuple, "items": _to_items, "dict": _to_dict, "date": _to_date,
    "datetime": _to_datetime, "path": _to_path, "literal": _to_choice, "any": _to_any,
}


def _tuple_literal(text: str) -> Any:
    """A Python tuple written on the command line (``(1, 2)``), for tuple parameters."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError("write a list such as [1, 2]") from None
    if not isinstance(value, tuple):
        raise ValueError("write a list such as [1, 2]")
    return value


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


#: Declared types whose one value is itself a list or a mapping.
_CONTAINERS = ("list", "tuple", "items", "dict")
_CLOSING = {"[": "]", "{": "}", "(": ")"}


def split_values(text: str, spec: TypeSpec | None = None) -> list[Any]:
    """The values of a sweep's ``-p NAME v1,v2,...``.

    The text is split on the commas outside brackets, braces, parentheses and quotes, so a
    value can be a list or a mapping (``[1, 2],[3]``; ``{a: 1, b: 2}``) and a quoted value
    can hold commas (``"a,b",c``: its quotes are dropped). The parts are text, to be read
    against the parameter's type like ``nbprod run -p`` values.

    For a parameter whose type ``spec`` is not a list, tuple or mapping, a whole list literal
    gives the values instead (``[0.1, 0.2]``): its items are data.
    """
    stripped = text.strip()
    if stripped.startswith("[") and (spec is None or spec.base not in _CONTAINERS):
        value = _list_literal(stripped)
        if isinstance(value, list):
            return value
    return [_unquote(part) for part in _top_level_parts(text)]


def _list_literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        return _parse_data(text)
    except ValueError:
        return None


def _top_level_parts(text: str) -> list[str]:
    """``text`` cut at the commas that are not inside brackets, braces or quotes."""
    parts: list[str] = []
    closers: list[str] = []
    quote: str | None = None
    start = 0
    escaped = False
    for position, char in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"" and (closers or not text[start:position].strip()):
            quote = char  # a string in a list, or a value written in quotes: not it's
        elif char in _CLOSING:
            closers.append(_CLOSING[char])
        elif closers and char == closers[-1]:
            closers.pop()
        elif char == "," and not closers:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _unquote(part: str) -> str:
    """A value written in quotes (``"a,b"``), without them; anything else as it is."""
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
        try:
            value = ast.literal_eval(part)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return part
        if isinstance(value, str):
            return value
    return part
