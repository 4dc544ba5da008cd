"""Profiles of tabular inputs (CSV, Parquet): schema and per-column summaries for drift checks.

Two runs that read "the same" file can be compared column by column (``nbprod runs diff``):
a new column, a type change, more nulls or a shifted mean shows up even when only the hash
says the file changed. CSV is read with the standard library; Parquet only when pyarrow is
installed (from the file's own statistics, without reading the data).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

__all__ = ["UNIQUE_CAP", "profile_csv", "profile_file", "profile_parquet"]

UNIQUE_CAP = 1000
_NULLS = {"", "na", "nan", "null", "none", "n/a", "#n/a"}
_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}


def profile_file(path: Path, *, max_bytes: int) -> dict | None:
    """The profile of a CSV/TSV or Parquet file, or None for other files or unreadable ones."""
    suffix = path.suffix.lower()
    try:
        if suffix in _CSV_SUFFIXES:
            return profile_csv(path, delimiter=_CSV_SUFFIXES[suffix], max_bytes=max_bytes)
        if suffix in (".parquet", ".pq"):
            return profile_parquet(path)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return None
    return None


class _Column:
    """Running summary of one CSV column."""

    def __init__(self, name: str):
        self.name = name
        self.count = 0
        self.nulls = 0
        self.numeric = True
        self.integral = True
        self.total = 0.0
        self.low: float | None = None
        self.high: float | None = None
        self.distinct: set[str] = set()
        self.capped = False

    def add(self, text: str) -> None:
        self.count += 1
        if text.strip().lower() in _NULLS:
            self.nulls += 1
            return
        if not self.capped:
            self.distinct.add(text)
            if len(self.distinct) > UNIQUE_CAP:
                self.capped = True
                self.distinct.clear()
        if not self.numeric:
            return
        try:
            number = float(text)
        except ValueError:
            self.numeric = False
            return
        if not math.isfinite(number):
            return
        if self.integral and not _looks_integral(text):
            self.integral = False
        self.total += number
        self.low = number if self.low is None else min(self.low, number)
        self.high = number if self.high is None else max(self.high, number)

    def summary(self) -> dict[str, Any]:
        present = self.count - self.nulls
        numeric = self.numeric and present > 0
        dtype = ("int" if self.integral else "float") if numeric else "str"
        result: dict[str, Any] = {"name": self.name, "dtype": dtype, "count": self.count,
                                  "nulls": self.nulls,
                                  "unique": None if self.capped else len(self.distinct)}
        if self.capped:
            result["unique_over"] = UNIQUE_CAP
        if numeric and self.low is not None:
            cast = int if self.integral else float
            result.update(min=cast(self.low), max=cast(self.high),
                          mean=round(self.total / present, 12))
        return result


def _looks_integral(text: str) -> bool:
    stripped = text.strip().lstrip("+-")
    return stripped.isdigit()


def profile_csv(path: Path, *, delimiter: str = ",", max_bytes: int) -> dict:
    """Schema and per-column summary of a delimited text file.

    Columns get a dtype (int, float or str), counts of values and nulls, distinct values (up to
    ``UNIQUE_CAP``) and, for numbers, min / max / mean. Files over ``max_bytes`` are profiled on
    the rows in their first ``max_bytes`` (``sampled`` is then true).
    """
    sampled = path.stat().st_size > max_bytes
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return {"format": "csv", "rows": 0, "columns": [], "sampled": False}
        columns = [_Column(name) for name in header]
        rows = 0
        consumed = 0  # approximate: a text handle cannot tell() while csv iterates it
        for row in reader:
            consumed += sum(len(text) for text in row) + len(row)
            if sampled and consumed > max_bytes:
                break
            rows += 1
            for column, text in zip(columns, row, strict=False):
                column.add(text)
            for column in columns[len(row):]:
                column.add("")
    return {"format": "csv", "rows": rows, "columns": [c.summary() for c in columns],
            "sampled": sampled}


def profile_parquet(path: Path) -> dict | None:
    """Schema, row count and per-column nulls/min/max of a Parquet file (pyarrow's statistics).

    Returns None when pyarrow is not installed.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    columns = []
    for index, field in enumerate(schema):
        nulls = 0
        low = high = None
        known = True
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                known = False
                continue
            nulls += stats.null_count or 0
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
        column: dict[str, Any] = {"name": field.name, "dtype": str(field.type), "nulls": nulls}
        if known and low is not None:
            column.update(min=_plain(low), max=_plain(high))
        columns.append(column)
    return {"format": "parquet", "rows": meta.num_rows, "columns": columns, "sampled": False}


def _plain(value: Any) -> Any:
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)
