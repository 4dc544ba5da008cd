"""The values a recorded run used: those it was given, and its notebook's defaults.

``runs show``, ``runs diff`` and the run report list every value a run used, not only the
overridden ones; the defaults are read from the run's own executed notebook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import NbprodError
from ..notebook import load
from ..params.coerce import ParamInfo, schema

__all__ = ["parameters_used", "values_used"]


def values_used(params: list[ParamInfo], given: dict[str, Any]) -> list[dict[str, Any]]:
    """Every value a run used: the ``given`` ones, then the schema's defaults for the rest.

    ``given`` is a receipt's (already redacted) parameters; defaults of secret-named
    parameters are redacted here. Each entry says whether the value was given or defaulted,
    so ``runs show`` can list what the run really used, not only what was overridden. A
    default that is not JSON data is the expression as written, with ``expression: True``.
    """
    declared = {p.name: p for p in params}
    rows = [{"name": name, "value": value, "given": True,
             "type": declared[name].to_dict()["type"] if name in declared else None}
            for name, value in given.items()]
    for param in params:
        if param.name not in given and not param.required:
            described = param.to_dict()
            row = {"name": param.name, "value": described["default"], "given": False,
                   "type": described["type"]}
            if described["default"] is None and described["default_source"] not in (None,
                                                                                  "None"):
                # A default that is not JSON data (`date(2024, 1, 1)`): its expression, as
                # written, rather than a null that hides what the run used.
                row.update(value=described["default_source"], expression=True)
            rows.append(row)
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
    rows = values_used(declared, given)
    # A function step of a pipeline has no executed notebook: its receipt names the values
    # it took at the notebook's defaults.
    defaults = set((receipt.get("pipeline") or {}).get("defaults") or ())
    return [{**row, "given": False} if row["name"] in defaults else row for row in rows]
