"""The training profile, the PSI and the drift window, without a service."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbprod.run.training_profile import bin_index, profile_frame
from nbprod.serve.drift import DriftMonitor, psi, verdict


def _frame(n: int = 1000, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "size": rng.normal(50, 10, n) + shift,
        "rooms": rng.integers(1, 6, n),
        "region": rng.choice(["north", "south"], n),
        "garden": rng.random(n) > 0.5,
    })


def test_profile_describes_each_column():
    frame = _frame()
    frame.loc[:9, "size"] = np.nan
    profile = profile_frame(frame)
    size, rooms, region, garden = profile["columns"]
    assert profile["rows"] == 1000
    assert (size["kind"], size["nullable"], size["missing_rate"]) == ("number", True, 0.01)
    assert len(size["edges"]) == 9 and len(size["fractions"]) == 10
    assert abs(sum(size["fractions"]) - 1) < 1e-4
    assert (rooms["kind"], rooms["dtype"], rooms["min"], rooms["max"]) == (
        "integer", "int64", 1.0, 5.0)
    assert (region["kind"], region["categories"]) == ("category", ["north", "south"])
    assert garden["kind"] == "boolean" and not garden["nullable"]
    assert bin_index(region, "south") == 1 and bin_index(region, "west") is None
    assert bin_index(size, -1e9) == 0 and bin_index(size, 1e9) == 9


def test_profile_refuses_what_is_not_a_frame_or_too_many_categories():
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        profile_frame([[1, 2]])
    with pytest.raises(TypeError, match="'id' has 1001 distinct"):
        profile_frame(pd.DataFrame({"id": [f"u{i}" for i in range(1001)]}))


def test_psi_and_verdicts():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert psi([0.5, 0.5], [0.9, 0.1]) > 0.25
    assert verdict(0.01, 0.0) == "stable"
    assert verdict(0.15, 0.0) == "moderate"
    assert verdict(0.3, 0.0) == "drifted"
    assert verdict(0.0, 0.2) == "drifted"


def test_the_window_sees_a_shift_and_forgets_it():
    profile = profile_frame(_frame())
    monitor = DriftMonitor(profile, window=500, min_rows=100)
    monitor.observe_frame(_frame(50, seed=1))
    assert {f["verdict"] for f in monitor.report()["features"]} == {"too few rows"}
    for seed in range(2, 12):
        monitor.observe_frame(_frame(50, seed=seed))
    assert monitor.report()["drifted"] == []
    for seed in range(12, 22):  # 500 shifted rows fill the window
        monitor.observe_frame(_frame(50, seed=seed, shift=30))
    report = monitor.report()
    assert report["drifted"] == ["size"]
    assert (report["rows"], report["seen"]) == (500, 1050)
    monitor.observe_frame(_frame(700, seed=30))  # more than a window at once
    assert monitor.report()["drifted"] == []


def test_missing_values_count_as_drift():
    profile = profile_frame(_frame())
    monitor = DriftMonitor(profile, window=200, min_rows=100)
    live = _frame(200, seed=3)
    live["size"] = np.nan
    monitor.observe_frame(live)
    size = monitor.report()["features"][0]
    assert size["missing_rate"] == {"training": 0.0, "live": 1.0}
    assert size["verdict"] == "drifted"
