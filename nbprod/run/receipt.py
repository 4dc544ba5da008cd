"""The receipt of a run (DESIGN.md §5, schema 1): what ran, with what, on what, and how it ended.

Built from plain data as the last step of a run and handed to the store
(``Store.finish_run``), which writes it as ``runs/<run_id>/receipt.json`` and indexes it.
Secret values never get here: parameters are redacted by name and the error and records are
scrubbed of the secret values; environment variables are not recorded at all.
"""

from __future__ import annotations

from typing import Any

from .execute import CellRun, scrub

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
    secrets: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """Assemble a receipt.

    Parameters
    ----------
    notebook:
        ``{"path": <relative to the project>, "hash": "blake3:...", "object": <stored copy>}``.
    parameters:
        The injected values, already redacted and JSON-ready (``params.redact``).
    cells:
        nbprod's per-cell records (status, start, duration, execution count).
    secrets:
        Secret parameter values to scrub from the error and the records.

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
    cleaned = [s for s in secrets if s]
    if cleaned:
        receipt["error"] = scrub(receipt["error"], cleaned)
        receipt["records"] = scrub(receipt["records"], cleaned)
    return receipt
