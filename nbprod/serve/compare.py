"""``nbprod models diff``: what differs between two stored models, as JSON data.

Two models can differ in their bytes, their class, the parameters (every value the run used,
the notebook's defaults included) and metrics of the runs that made them, the packages those
runs had, and the data they were fitted on (columns added or removed, a dtype, a range or the
categories changed): the last is what breaks a service that was built for the first model.
"""

from __future__ import annotations

from ..store.diff import diff_mappings
from .registry import ModelRef

__all__ = ["diff_models", "diff_profiles"]


def diff_models(a: ModelRef, b: ModelRef) -> dict:
    """Differences between model ``a`` and model ``b`` (each side as ``{"a", "b"}``)."""
    model = {key: {"a": a.entry.get(key), "b": b.entry.get(key)}
             for key in ("hash", "class", "format") if a.entry.get(key) != b.entry.get(key)}
    env_a = (a.receipt.get("environment") or {}).get("packages")
    env_b = (b.receipt.get("environment") or {}).get("packages")
    return {
        "a": {"name": a.name, "run_id": a.run_id},
        "b": {"name": b.name, "run_id": b.run_id},
        "same": a.entry.get("hash") == b.entry.get("hash"),
        "model": model,
        "parameters": diff_mappings(a.parameters, b.parameters),  # defaults included
        "metrics": diff_mappings(_scalars(a.receipt.get("records")),
                                 _scalars(b.receipt.get("records"))),
        "packages": diff_mappings(env_a, env_b),
        "training_data": diff_profiles(a.entry.get("profile"), b.entry.get("profile")),
    }


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
