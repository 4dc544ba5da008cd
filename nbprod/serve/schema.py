"""The request schema, generated from the training profile: one pydantic row type per model.

Every column the model was fitted on is required; numbers must be finite JSON numbers (never
``NaN`` or ``Infinity``, which Python's JSON parser accepts, nor ``1e999``, which it reads as
infinity) within the range of the column's dtype, integers integers within it (int64 for most
columns), booleans booleans, and a category one of the training categories; ``null`` is
accepted only where the training data had missing values; unknown columns are refused. A
request that breaks any of this is answered 422 with the row and the field named, before the
model sees it.

A body is one record (``{"alcohol": 13.2, ...}``), a list of records, ``{"records": [...]}``,
or columns (``{"columns": {"alcohol": [13.2, 12.9], ...}}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

__all__ = ["Batch", "RequestError", "RowSchema"]

#: At most this many problems are reported for one request.
MAX_PROBLEMS = 20


class RequestError(Exception):
    """A request the schema refuses: ``status`` (400, 413, 422) and ``problems``."""

    def __init__(self, status: int, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.problems = problems or []

    def to_dict(self) -> dict:
        return {"error": str(self), "problems": self.problems}


@dataclass(frozen=True)
class Batch:
    """Validated rows: the DataFrame ``predict`` receives, plus what drift monitoring reads
    without going through pandas again: the non-category columns as one float matrix (NaN
    where missing) and the category columns as lists."""

    frame: Any
    numbers: Any  # numpy (rows, non-category columns), profile order
    categories: dict[str, list]


class RowSchema:
    """Validates request bodies against a training profile and turns them into a DataFrame."""

    def __init__(self, profile: dict):
        from pydantic import AllowInfNan, ConfigDict, Field, Strict, StrictBool, TypeAdapter
        from typing_extensions import TypedDict

        self.profile = profile
        self.columns = [c["name"] for c in profile["columns"]]
        self.numeric = [c for c in profile["columns"] if c["kind"] != "category"]
        self.categorical = [c["name"] for c in profile["columns"] if c["kind"] == "category"]
        # One float matrix is the whole frame when every column is a float64 number.
        self._matrix_only = all(c["kind"] == "number" and c["dtype"] == "float64"
                                for c in profile["columns"])
        fields: dict[str, Any] = {}
        for column in profile["columns"]:
            kind = column["kind"]
            if kind == "category":
                kind_type: Any = Literal[tuple(column["categories"])]  # type: ignore[misc]
            elif kind == "boolean":
                kind_type = StrictBool
            else:  # finite, and within what the column's dtype holds
                bounds = _bounds(column["dtype"], kind)
                limits = Field(ge=bounds[0], le=bounds[1]) if bounds else Field()
                kind_type = (Annotated[float, Strict(), AllowInfNan(False), limits]
                             if kind == "number" else Annotated[int, Strict(), limits])
            fields[column["name"]] = kind_type | None if column["nullable"] else kind_type
        row = TypedDict("Row", fields)  # type: ignore[operator]
        row.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
        self._adapter = TypeAdapter(list[row])
        self._dtypes = {c["name"]: c["dtype"] for c in profile["columns"]}

    def json_schema(self) -> dict:
        """The JSON schema of a list of records (the request form of JupyterLab reads it)."""
        return self._adapter.json_schema()

    def batch(self, body: Any) -> Batch:
        """The validated rows of a parsed JSON body, columns in training order.

        Raises
        ------
        RequestError
            422 naming the row and field of each problem (at most ``MAX_PROBLEMS``).
        """
        import numpy as np
        import pandas as pd
        from pydantic import ValidationError

        records = _records(body)
        try:
            rows = self._adapter.validate_python(records)
        except ValidationError as exc:
            problems = [_problem(e, self._dtypes)
                        for e in exc.errors(include_url=False)[:MAX_PROBLEMS]]
            first = problems[0]
            where = f" (row {first['row']})" if len(records) > 1 else ""
            raise RequestError(422, f"{first['field']}: {first['message']}{where}",
                               problems) from None
        numbers = np.array([[row[c["name"]] for c in self.numeric] for row in rows],
                           dtype=float).reshape(len(rows), len(self.numeric))
        categories = {name: [row[name] for row in rows] for name in self.categorical}
        if self._matrix_only:
            frame = pd.DataFrame(numbers, columns=self.columns)
        else:
            data: dict[str, Any] = dict(categories)
            for j, column in enumerate(self.numeric):
                name, dtype = column["name"], column["dtype"]
                if column["kind"] == "number" or column["nullable"]:
                    data[name] = numbers[:, j] if dtype == "float64" else pd.array(
                        [row[name] for row in rows], dtype=dtype)
                else:  # integers and booleans from the values themselves: no float detour
                    data[name] = np.array([row[name] for row in rows], dtype=dtype)
            frame = pd.DataFrame({name: data[name] for name in self.columns})
        return Batch(frame, numbers, categories)

    def frame(self, body: Any) -> Any:
        """The DataFrame of a parsed JSON body (``batch(body).frame``)."""
        return self.batch(body).frame


def _records(body: Any) -> list:
    """The list of records in any of the accepted body shapes."""
    if isinstance(body, list):
        if not body:
            raise RequestError(422, "the body is an empty list; send at least one record")
        return body
    if not isinstance(body, dict):
        raise RequestError(422, "the body must be a JSON object (one record, {\"records\":"
                                " [...]} or {\"columns\": {...}}) or a list of records")
    if set(body) == {"records"} and isinstance(body["records"], list):
        return _records(body["records"])
    if set(body) == {"columns"} and isinstance(body["columns"], dict):
        columns = body["columns"]
        lengths = {len(v) if isinstance(v, list) else -1 for v in columns.values()}
        if -1 in lengths or len(lengths) != 1:
            raise RequestError(422, "columns: every column must be a list, all of the same"
                                    " length")
        names = list(columns)
        return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(),
                                                                        strict=True)]
    return [body]


def _bounds(dtype: str, kind: str) -> tuple[int | float, int | float] | None:
    """The smallest and largest value a number or integer column's dtype holds (None for
    float64, whose range every finite JSON number is in)."""
    import numpy as np
    import pandas as pd

    try:
        found = pd.api.types.pandas_dtype(dtype)
        found = np.dtype(getattr(found, "numpy_dtype", found))
    except TypeError:
        found = np.dtype("int64" if kind == "integer" else "float64")
    if kind == "integer":
        if found.kind not in "iu":
            found = np.dtype("int64")
        info = np.iinfo(found)
        return int(info.min), int(info.max)
    if found.kind != "f" or found.itemsize >= 8:
        return None
    top = float(np.finfo(found).max)
    return -top, top


def _shown(value: Any) -> str:
    """A refused value as the message quotes it: a 400-digit integer is cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def _problem(error: dict, dtypes: dict[str, str] | None = None) -> dict:
    loc = list(error.get("loc") or ())
    row = loc[0] if loc and isinstance(loc[0], int) else None
    field = ".".join(str(p) for p in loc[1:] if not isinstance(p, int)) if row is not None \
        else ".".join(str(p) for p in loc)
    kind = error.get("type")
    value = error.get("input")
    dtype = (dtypes or {}).get(field)
    if kind in ("greater_than_equal", "less_than_equal"):
        bounds = _bounds(dtype or "int64", "integer" if isinstance(value, int) else "number")
        low, high = bounds or (None, None)
        return {"row": row, "field": field, "type": kind,
                "message": f"out of the range of the column's {dtype} ({low} to {high}),"
                           f" got {_shown(value)}"}
    if kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
        return {"row": row, "field": field, "type": kind,
                "message": f"out of the range of float64, got {_shown(value)}"}
    message = {
        "missing": "missing column",
        "extra_forbidden": "unknown column, the model was not fitted on it",
        "literal_error": f"unknown category {error.get('input')!r}; expected"
                         f" {(error.get('ctx') or {}).get('expected')}",
    }.get(kind, f"{error.get('msg')}, got {_shown(value)}")
    return {"row": row, "field": field or "<record>", "type": kind, "message": message}
