"""``nbprod models diff``: what differs between two stored models, as JSON data.

Two models can differ in their bytes, their class, the parameters (every value the run used,
the notebook's defaults included) and metrics of the runs that made them, the packages those
runs had, and the data they were fitted on (columns added or removed, a dtype, a range or the
categories changed): the last is what breaks a service that was built for the first model.
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreError
from ..store.diff import diff_mappings
from .registry import ModelRef, load

__all__ = ["diff_models", "diff_profiles"]


def diff_models(a: ModelRef, b: ModelRef, store: Any = None) -> dict:
    """Differences between model ``a`` and model ``b`` (each side as ``{"a", "b"}``).

    ``same`` compares the stored bytes; ``same_content`` (with ``store``) the fitted models
    themselves, loaded: skops writes object ids into its files, so one fit stored twice has
    two hashes. None when the models cannot be loaded to compare.
    """
    model = {key: {"a": a.entry.get(key), "b": b.entry.get(key)}
             for key in ("hash", "class", "format") if a.entry.get(key) != b.entry.get(key)}
    env_a = (a.receipt.get("environment") or {}).get("packages")
    env_b = (b.receipt.get("environment") or {}).get("packages")
    same = a.entry.get("hash") == b.entry.get("hash")
    return {
        "a": {"name": a.name, "run_id": a.run_id},
        "b": {"name": b.name, "run_id": b.run_id},
        "same": same,
        "same_content": True if same else _same_content(store, a, b) if store else None,
        "model": model,
        "parameters": diff_mappings(a.parameters, b.parameters),  # defaults included
        "metrics": diff_mappings(_scalars(a.receipt.get("records")),
                                 _scalars(b.receipt.get("records"))),
        "packages": diff_mappings(env_a, env_b),
        "training_data": diff_profiles(a.entry.get("profile"), b.entry.get("profile")),
    }


def _same_content(store: Any, a: ModelRef, b: ModelRef) -> bool | None:
    """Whether the two stored models hold the same fitted state; None when one cannot be
    loaded or compared."""
    if a.entry.get("class") != b.entry.get("class"):
        return False
    try:
        return _equal_state(load(store, a), load(store, b))
    except (StoreError, ValueError, TypeError, OSError, RecursionError):
        return None


def _equal_state(x: Any, y: Any, depth: int = 0) -> bool:
    """Equality of two objects by what they hold, attribute by attribute and array by array.

    Not by their pickled bytes: a scikit-learn tree keeps its nodes in a structured array
    whose padding bytes are whatever the memory held, so one fit pickled twice differs.
    """
    import numpy as np

    if depth > 50:
        raise RecursionError("too deep to compare")
    if type(x) is not type(y):
        return False
    if isinstance(x, np.ndarray):
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.dtype.names:
            return all(_equal_state(x[name], y[name], depth + 1) for name in x.dtype.names)
        if x.dtype.kind in "fc":
            return bool(np.array_equal(x, y, equal_nan=True))
        if x.dtype.kind == "O":
            return all(_equal_state(p, q, depth + 1) for p, q in zip(x.flat, y.flat, strict=True))
        return bool(np.array_equal(x, y))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_equal_state(x[k], y[k], depth + 1) for k in x)
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(
            _equal_state(p, q, depth + 1) for p, q in zip(x, y, strict=True))
    if isinstance(x, (str, bytes, int, float, complex, bool, type(None), np.generic)):
        return bool(x == y or (x != x and y != y))  # NaN equals NaN here
    state_x, state_y = _state(x), _state(y)
    if state_x is None or state_y is None:
        return bool(x == y)
    return _equal_state(state_x, state_y, depth + 1)


def _state(value: Any) -> Any:
    """What pickling would save of ``value`` (its arguments and state), or None."""
    try:
        reduced = value.__reduce_ex__(2)
    except Exception:  # noqa: BLE001 - an object that cannot say: compared by ==
        return None
    if isinstance(reduced, str):
        return None
    return tuple(part for part in reduced[1:3])


def _scalars(records: dict | None) -> dict:
    # Long recorded lists (predictions) say nothing in a diff; numbers and text do.
    return {k: v for k, v in (records or {}).items() if not isinstance(v, (list, dict))}


def diff_profiles(a: dict | None, b: dict | None) -> dict:
    """Columns added, removed and changed (kind, dtype, nullable, min, max, categories)."""
    cols_a = {c["name"]: c for c in (a or {}).get("columns") or []}
    cols_b = {c["name"]: c for c in (b or {}).get("columns") or []}
    changed = {}
    for name in sorted(cols_a.keys() & cols_b.keys()):
        fields = {key: {"a": cols_a[name].get(key), "b": cols_b[name].get(key)}
                  for key in ("kind", "dtype", "nullable", "min", "max", "categories")
                  if cols_a[name].get(key) != cols_b[name].get(key)}
        if fields:
            changed[name] = fields
    return {"added": sorted(cols_b.keys() - cols_a.keys()),
            "removed": sorted(cols_a.keys() - cols_b.keys()), "changed": changed}
