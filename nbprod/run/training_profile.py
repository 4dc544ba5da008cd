"""The profile of the frame a model was fitted on: what the service may accept, and what live
inputs are compared with.

A profile is plain JSON data kept in the receipt beside the model::

    {"rows": 133, "columns": [
      {"name": "alcohol", "kind": "number", "dtype": "float64", "nullable": false,
       "missing_rate": 0.0, "min": 11.03, "max": 14.83,
       "edges": [12.0, ...], "fractions": [0.1, ...]},
      {"name": "region", "kind": "category", "dtype": "object", "nullable": false,
       "missing_rate": 0.0, "categories": ["north", "south"], "fractions": [0.4, 0.6]}]}

``kind`` is ``number``, ``integer``, ``boolean`` or ``category``. Numbers are cut at the
training deciles (``edges``, the bins of the population stability index); ``fractions`` are the
training shares of each bin or category, so drift needs no training data at serving time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KINDS", "bin_index", "profile_frame"]

KINDS = ("number", "integer", "boolean", "category")
#: Quantiles whose values cut a numeric column into the PSI bins (deciles: ten bins).
_QUANTILES = tuple(q / 10 for q in range(1, 10))
#: A text column with more distinct values than this is not a category: it is refused.
MAX_CATEGORIES = 1000


def profile_frame(frame: Any) -> dict:
    """Profile a pandas DataFrame column by column.

    Raises
    ------
    TypeError
        When ``frame`` is not a DataFrame, or a column is neither numeric, boolean nor a
        category with at most ``MAX_CATEGORIES`` values (the message names the column).
    """
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"nbprod.record_model: training_data must be a pandas DataFrame of the rows the"
            f" model was fitted on, not a {type(frame).__name__}"
        )
    columns = []
    for name in frame.columns:
        series = frame[name]
        missing = int(series.isna().sum())
        entry: dict[str, Any] = {
            "name": str(name),
            "dtype": str(series.dtype),
            "nullable": missing > 0,
            "missing_rate": round(missing / len(series), 6) if len(series) else 0.0,
        }
        present = series.dropna()
        if pd.api.types.is_bool_dtype(series):
            entry["kind"] = "boolean"
            entry["fractions"] = _shares(present.astype(bool).map({False: 0, True: 1}), 2)
        elif pd.api.types.is_numeric_dtype(series):
            entry["kind"] = "integer" if pd.api.types.is_integer_dtype(series) else "number"
            values = present.to_numpy(dtype=float)
            edges = sorted(set(np.quantile(values, _QUANTILES).tolist())) if len(values) else []
            entry["min"] = float(values.min()) if len(values) else None
            entry["max"] = float(values.max()) if len(values) else None
            entry["edges"] = edges
            entry["fractions"] = _shares(
                pd.Series(np.searchsorted(edges, values, side="right")), len(edges) + 1)
        else:
            categories = sorted({str(v) for v in present})
            if len(categories) > MAX_CATEGORIES:
                raise TypeError(
                    f"nbprod.record_model: column {name!r} has {len(categories)} distinct text"
                    f" values; the service accepts numbers, booleans and categories of at most"
                    f" {MAX_CATEGORIES} values: encode it before fitting"
                )
            entry["kind"] = "category"
            entry["categories"] = categories
            position = {c: i for i, c in enumerate(categories)}
            entry["fractions"] = _shares([position[str(v)] for v in present], len(categories))
        columns.append(entry)
    return {"rows": int(len(frame)), "columns": columns}


def _shares(codes: Any, size: int) -> list[float]:
    """The share of each code 0..size-1 among ``codes`` (all zeros when empty)."""
    counts = [0] * size
    for code in codes:
        counts[int(code)] += 1
    total = sum(counts)
    return [round(c / total, 6) if total else 0.0 for c in counts]


def bin_index(column: dict, value: Any) -> int | None:
    """The PSI bin (or category position) of one value of ``column``; None when missing or
    outside the training categories."""
    if value is None:
        return None
    kind = column["kind"]
    if kind == "category":
        try:
            return column["categories"].index(str(value))
        except ValueError:
            return None
    if kind == "boolean":
        return 1 if value else 0
    from bisect import bisect_right

    return bisect_right(column["edges"], float(value))
