"""Drift: live inputs against the training profile, per feature, over a sliding window.

For each feature the population stability index (PSI) compares the share of the last
``window`` rows in each training bin (deciles for numbers, one bin per category) with the
training shares: ``sum((live - train) * ln(live / train))``. A PSI under 0.1 is ``stable``,
0.1 to 0.25 ``moderate``, above ``drifted``; a missing rate that moved by more than 0.1 is
``drifted`` too. Fewer rows than ``min_rows`` give ``too few rows``: a verdict on a handful
of requests would be noise. The same code serves ``/drift`` and ``nbprod drift`` (offline,
one batch as the window).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DriftMonitor", "psi", "verdict"]

MODERATE_PSI = 0.1
DRIFT_PSI = 0.25
MISSING_CHANGE = 0.1
#: Shares are floored at this value, so an empty bin does not make the PSI infinite.
_FLOOR = 1e-4


def psi(expected: list[float], actual: list[float]) -> float:
    """The population stability index of two share vectors of the same length."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, _FLOOR), max(a, _FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def verdict(value: float, missing_change: float) -> str:
    """``stable``, ``moderate`` or ``drifted`` for one feature."""
    if value >= DRIFT_PSI or abs(missing_change) > MISSING_CHANGE:
        return "drifted"
    return "moderate" if value >= MODERATE_PSI else "stable"


class DriftMonitor:
    """The last ``window`` rows of inputs, binned as the training data was.

    Rows are kept as small integer bin codes in a ring buffer (``-1`` for a missing value),
    so observing a request costs one vectorised lookup per feature, and a report one count.
    """

    def __init__(self, profile: dict, window: int = 1000, min_rows: int = 100):
        import numpy as np

        self.columns = profile["columns"]
        self.window = window
        self.min_rows = min_rows
        self._codes = np.full((window, len(self.columns)), -1, dtype=np.int16)
        self._edges = [np.asarray(c.get("edges") or [], dtype=float) for c in self.columns]
        self._positions = [{v: i for i, v in enumerate(c.get("categories") or [])}
                           for c in self.columns]
        self._next = 0
        self.rows = 0  # rows in the window
        self.seen = 0  # rows observed since the start

    def observe_frame(self, frame: Any) -> None:
        """Add the rows of a DataFrame with the profile's columns (``nbprod drift``)."""
        import numpy as np

        numeric = [c["name"] for c in self.columns if c["kind"] != "category"]
        numbers = np.empty((len(frame), len(numeric)))
        for j, name in enumerate(numeric):
            numbers[:, j] = pd_numbers(frame[name])
        categories = {c["name"]: [None if v is None or v != v else str(v)
                                  for v in frame[c["name"]].tolist()]
                      for c in self.columns if c["kind"] == "category"}
        self.observe(numbers, categories)

    def observe(self, numbers: Any, categories: dict[str, list]) -> None:
        """Add validated rows: the non-category columns as a float matrix (NaN missing),
        the category columns as lists (``schema.Batch``)."""
        import numpy as np

        count = len(numbers)
        if count == 0:
            return
        codes = np.empty((count, len(self.columns)), dtype=np.int16)
        j_number = 0
        for j, column in enumerate(self.columns):
            if column["kind"] == "category":
                position = self._positions[j]
                codes[:, j] = [position.get(v, -1) if v is not None else -1
                               for v in categories[column["name"]]]
                continue
            values = numbers[:, j_number]
            j_number += 1
            if column["kind"] == "boolean":
                binned = (values > 0.5).astype(np.int16)
            else:
                binned = np.searchsorted(self._edges[j], values, side="right")
            binned = np.asarray(binned, dtype=np.int16)
            binned[np.isnan(values)] = -1
            codes[:, j] = binned
        if count >= self.window:
            self._codes[:] = codes[-self.window:]
            self._next = 0
        else:
            end = self._next + count
            if end <= self.window:
                self._codes[self._next:end] = codes
            else:
                split = self.window - self._next
                self._codes[self._next:] = codes[:split]
                self._codes[:count - split] = codes[split:]
            self._next = end % self.window
        self.rows = min(self.window, self.rows + count)
        self.seen += count

    def report(self) -> dict:
        """Per feature: PSI, training and live missing rates, verdict (JSON data)."""
        import numpy as np

        window = self._codes[:self.rows] if self.rows < self.window else self._codes
        features = []
        for j, column in enumerate(self.columns):
            expected = column["fractions"]
            codes = window[:, j]
            present = codes[codes >= 0]
            live_missing = 1 - len(present) / self.rows if self.rows else 0.0
            change = live_missing - column["missing_rate"]
            entry = {"feature": column["name"], "kind": column["kind"],
                     "missing_rate": {"training": column["missing_rate"],
                                      "live": round(live_missing, 6)}}
            if self.rows < self.min_rows:
                entry.update(psi=None, verdict="too few rows")
            else:
                counts = np.bincount(present, minlength=len(expected))[:len(expected)]
                live = (counts / len(present)).tolist() if len(present) else [0.0] * len(
                    expected)
                value = psi(expected, live) if len(present) else 0.0
                entry.update(psi=round(value, 6), verdict=verdict(value, change))
            features.append(entry)
        drifted = [f["feature"] for f in features if f["verdict"] == "drifted"]
        return {"window": self.window, "rows": self.rows, "seen": self.seen,
                "min_rows": self.min_rows,
                "thresholds": {"moderate_psi": MODERATE_PSI, "drift_psi": DRIFT_PSI,
                               "missing_rate_change": MISSING_CHANGE},
                "drifted": drifted, "features": features}


def pd_numbers(series: Any) -> Any:
    """A column as floats, NaN where missing or not a number (a CSV may hold anything)."""
    import pandas as pd

    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=float("nan"))
