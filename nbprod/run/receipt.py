"""The receipt of a run (DESIGN.md §5, schema 1): what ran, with what, on what, and how it ended.

Built from plain data as the last step of a run and handed to the store
(``Store.finish_run``), which writes it as ``runs/<run_id>/receipt.json`` and indexes it.
Secret values never get here: parameters are redacted by name, and the error and records are
masked (``masking.SecretMasker``: secret parameter and environment values, and what the lint
detectors recognise); environment variables are not recorded at all.
"""

from __future__ import annotations

from typing import Any

from .execute import CellRun

__all__ = ["SCHEMA_VERSION", "build_receipt"]

SCHEMA_VERSION = 1


def build_receipt(
    *,
    run_id: str,
    status: str,
    notebook: dict,
    parameters: dict,
    kind: str,
    parent: str | None,
    kernel: str | None,
    start: str,
    end: str,
    duration_s: float,
    cells: list[CellRun],
    environment: dict,
    data: list[dict],
    records: dict,
    error: dict | None,
    objects: list[str],
    masker: Any = None,
    changed_during_run: list[dict] | None = None,
    models: list[dict] | None = None,
) -> dict[str, Any]:
    """Assemble a receipt.

    Parameters
    ----------
    notebook:
        ``{"path": <relative to the project>, "hash": "blake3:...", "object": <stored copy>}``.
    parameters:
        The injected values, already redacted and JSON-ready (``nbprod.params.redact``).
    cells:
        nbprod's per-cell records (status, start, duration, execution count).
    masker:
        A ``masking.SecretMasker`` for the error and the records; the number of values it
        masked in the whole run (outputs included) is recorded as ``masked``.
    changed_during_run:
        Input files whose content changed between their first read and the end of the run
        (path, hash at first read, hash at the end); recorded only when there are some.
    models:
        The models the notebook kept with ``nbprod.record_model`` (``run.models``), already
        in the store; recorded only when there are some.

    Returns
    -------
    dict
        JSON-ready; ``status`` is one of the statuses in ``execute.STATUSES``.
    """
    receipt: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "kind": kind,
        "parent": parent,
        "status": status,
        "notebook": notebook,
        "parameters": parameters,
        "kernel": kernel,
        "timing": {
            "start": start,
            "end": end,
            "duration_s": round(duration_s, 6),
            "cells": [c.to_dict() for c in cells],
        },
        "environment": environment,
        "data": data,
        "records": records,
        "output": "output.ipynb",
        "error": error,
        "objects": sorted(set(objects)),
    }
    if masker is not None:
        receipt["error"] = masker.data(receipt["error"])
        receipt["records"] = masker.data(receipt["records"])
        receipt["masked"] = masker.count
    if changed_during_run:
        receipt["changed_during_run"] = changed_during_run
    if models:
        receipt["models"] = models
    return receipt
