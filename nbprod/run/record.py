"""``nbprod.record(name, value)``: a notebook hands a value to its run's receipt.

Inside a run, nbprod sets ``NBPROD_RECORDS_FILE`` in the kernel to a file in the run folder;
each call appends one JSON line there, so a value recorded before the kernel dies is kept. The
runner reads the file into ``receipt["records"]`` (a later value of the same name wins).
Outside a run (plain Jupyter), ``record`` only warns once: the notebook still works unchanged.

A pipeline's function step (a ``step:`` cell run as a function in a worker process, not in a
kernel) collects instead: while the worker runs it, ``recording`` makes ``record`` and
``record_model`` keep what they are given in memory (``Recorded``), and the values travel back
with the step's result to the client, which writes them into the step's receipt.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["RECORDS_ENV", "Recorded", "active_recording", "read_json_lines", "read_records",
           "record", "recording"]

RECORDS_ENV = "NBPROD_RECORDS_FILE"
_warned = False
_local = threading.local()
_active: list[Recorded] = []  # every recording in progress in this process
_active_lock = threading.Lock()


class Recorded:
    """What ``record`` and ``record_model`` were given while one function step ran.

    ``records``: name -> JSON value (a later value of the same name wins); ``models``: name ->
    (receipt entry, serialised model), as ``models.model_entry`` makes them.
    """

    def __init__(self) -> None:
        self.records: dict[str, Any] = {}
        self.models: dict[str, tuple[dict, bytes]] = {}


@contextmanager
def recording(into: Recorded) -> Iterator[Recorded]:
    """Keep what this thread records in ``into`` while the block runs (a function step).

    A thread the step starts itself records into it too while it is the only recording in
    this process (several steps running at once on one worker each keep their own).
    """
    previous = getattr(_local, "recorded", None)
    _local.recorded = into
    with _active_lock:
        _active.append(into)
    try:
        yield into
    finally:
        _local.recorded = previous
        with _active_lock:
            _active.remove(into)


def active_recording() -> Recorded | None:
    """The recording ``record`` writes to in this thread, or None (then: the run's file)."""
    found = getattr(_local, "recorded", None)
    if found is None:
        with _active_lock:
            found = _active[0] if len(_active) == 1 else None
    return found


def record(name: str, value: Any) -> None:
    """Keep a JSON-serialisable value in the receipt of the current run, under ``records``.

    Parameters
    ----------
    name:
        The key in ``receipt["records"]`` (sweeps and pipelines read metrics from there).
    value:
        JSON data: numbers, text, booleans, None, lists and mappings of those. NumPy scalars
        and arrays are converted with ``.item()`` / ``.tolist()``.

    Raises
    ------
    TypeError
        When the name is not text or the value cannot be written as JSON.
    """
    global _warned
    if not isinstance(name, str) or not name:
        raise TypeError("nbprod.record: the name must be non-empty text")
    line = json.dumps({"name": name, "value": _plain(value)}, allow_nan=True, default=_refuse)
    kept = active_recording()
    if kept is not None:  # a function step of a pipeline: the value goes back with its result
        kept.records[name] = json.loads(line)["value"]
        return
    target = os.environ.get(RECORDS_ENV)
    if not target:
        if not _warned:
            warnings.warn("nbprod.record: not inside an nbprod run, the value is not kept",
                          stacklevel=2)
            _warned = True
        return
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()


def _plain(value: Any) -> Any:
    # NumPy scalars and arrays, without importing NumPy.
    if hasattr(value, "tolist") and callable(value.tolist) and type(value).__module__ == "numpy":
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _refuse(value: Any) -> Any:
    raise TypeError(
        f"nbprod.record: a {type(value).__name__} value is not JSON data; record numbers, text,"
        " lists or mappings"
    )


def read_records(path: str | Path) -> dict[str, Any]:
    """The values recorded during a run, by name (a later value wins); {} without a file."""
    return {item["name"]: item.get("value") for item in read_json_lines(path, "name")}


def read_json_lines(path: str | Path, key: str) -> list[dict]:
    """The objects of a JSON-lines file the kernel appends to (records, models, file
    accesses) that have a text ``key``, in order; none without a file.

    A line that is not JSON is skipped: the last one is cut short when the kernel dies while
    writing it.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    found = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get(key), str):
            found.append(item)
    return found
