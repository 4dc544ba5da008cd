"""The service's Prometheus metrics: requests, errors, latency, predictions, drift.

A few counters and one histogram kept in plain dictionaries and written in Prometheus' text
exposition format by ``render``: the service runs on one event loop per worker, so nothing
needs a lock, and no client library is needed to be scraped.
"""

from __future__ import annotations

import bisect
import math

__all__ = ["LATENCY_BUCKETS", "Metrics"]

#: Upper bounds (seconds) of the latency histogram's buckets.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Distinct prediction values counted one by one; beyond that they count as "other".
MAX_LABELS = 50


class Metrics:
    """Counts of one service process."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.errors: dict[str, int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0
        self.rows = 0
        self.labels: dict[str, int] = {}
        self.values_sum = 0.0
        self.values_count = 0

    def request(self, endpoint: str, status: int, seconds: float | None = None) -> None:
        """Count one answered request (and its latency, for /predict)."""
        key = (endpoint, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        if seconds is not None:
            self.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self.latency_sum += seconds
            self.latency_count += 1

    def error(self, reason: str) -> None:
        """Count one refused or failed request by reason (validation, too_large, ...)."""
        self.errors[reason] = self.errors.get(reason, 0) + 1

    def predictions(self, values: list) -> None:
        """Count predictions: discrete values by label, numbers by sum and count."""
        self.rows += len(values)
        for value in values:
            if isinstance(value, float) and not value.is_integer():
                if math.isfinite(value):
                    self.values_sum += value
                    self.values_count += 1
                continue
            label = str(int(value) if isinstance(value, float) else value)
            if label not in self.labels and len(self.labels) >= MAX_LABELS:
                label = "other"
            self.labels[label] = self.labels.get(label, 0) + 1

    def render(self, drift: dict | None) -> str:
        """The metrics in Prometheus' text format (version 0.0.4)."""
        out: list[str] = []

        def family(name: str, kind: str, text: str) -> None:
            out.append(f"# HELP {name} {text}")
            out.append(f"# TYPE {name} {kind}")

        family("nbprod_requests_total", "counter", "Requests answered, by endpoint and status.")
        for (endpoint, status), count in sorted(self.requests.items()):
            out.append(f'nbprod_requests_total{{endpoint="{endpoint}",status="{status}"}}'
                       f" {count}")
        family("nbprod_request_errors_total", "counter",
               "Prediction requests refused or failed, by reason.")
        for reason, count in sorted(self.errors.items()):
            out.append(f'nbprod_request_errors_total{{reason="{reason}"}} {count}')
        family("nbprod_request_duration_seconds", "histogram",
               "Time to answer POST /predict, from the request to the response.")
        running = 0
        for bound, count in zip((*LATENCY_BUCKETS, math.inf), self.buckets, strict=True):
            running += count
            le = "+Inf" if bound == math.inf else repr(bound)
            out.append(f'nbprod_request_duration_seconds_bucket{{le="{le}"}} {running}')
        out.append(f"nbprod_request_duration_seconds_sum {self.latency_sum!r}")
        out.append(f"nbprod_request_duration_seconds_count {self.latency_count}")
        family("nbprod_prediction_rows_total", "counter", "Rows predicted.")
        out.append(f"nbprod_prediction_rows_total {self.rows}")
        family("nbprod_predictions_total", "counter", "Predictions by predicted value.")
        for label, count in sorted(self.labels.items()):
            out.append(f'nbprod_predictions_total{{value="{_escape(label)}"}} {count}')
        if self.values_count:
            family("nbprod_prediction_value", "summary", "Numeric predictions.")
            out.append(f"nbprod_prediction_value_sum {self.values_sum!r}")
            out.append(f"nbprod_prediction_value_count {self.values_count}")
        if drift is not None:
            family("nbprod_drift_window_rows", "gauge", "Rows in the drift window.")
            out.append(f"nbprod_drift_window_rows {drift['rows']}")
            family("nbprod_drift_psi", "gauge",
                   "Population stability index of each feature over the drift window.")
            for f in drift["features"]:
                if f["psi"] is not None:
                    out.append(f'nbprod_drift_psi{{feature="{_escape(f["feature"])}"}}'
                               f" {f['psi']!r}")
            family("nbprod_drift_missing_rate", "gauge",
                   "Share of missing values of each feature over the drift window.")
            for f in drift["features"]:
                out.append(f'nbprod_drift_missing_rate{{feature="{_escape(f["feature"])}"}}'
                           f" {f['missing_rate']['live']!r}")
            family("nbprod_drift_detected", "gauge", "1 when the feature's verdict is drifted.")
            for f in drift["features"]:
                flag = 1 if f["verdict"] == "drifted" else 0
                out.append(f'nbprod_drift_detected{{feature="{_escape(f["feature"])}"}} {flag}')
        return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
