"""Secrets among parameters: which names hold them, and values made safe to record.

A value whose name says it is a secret (token, password, api_key...) never reaches a
receipt, the stored output notebook or a JSON answer: it is replaced by ``***``. So is a
value the secret detectors recognise (``redact_parameters``), whatever its name.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["REDACTED", "is_secret", "json_safe", "redact", "redact_parameters", "to_json"]

REDACTED = "***"

# Names whose values never reach the receipt or the stored output notebook.
_SECRET_RE = re.compile(r"(token|passw(or)?d|secret|api_?key|private_?key|credential|(^|_)key$)",
                        re.IGNORECASE)


def is_secret(name: str) -> bool:
    """Whether a parameter's name says it holds a secret (token, password, api_key ...)."""
    return bool(_SECRET_RE.search(name))


def redact(values: dict[str, Any], also: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """JSON-ready parameters with secret values replaced by ``***``: those of secret names,
    and those of the names in ``also`` (values that look like credentials)."""
    return {name: REDACTED if is_secret(name) or name in also else to_json(value)
            for name, value in values.items()}


def redact_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the run store keeps and the CLI shows them: JSON data, the values of
    secret names and the values the secret detectors recognise (``postgresql://ana:pw@db``)
    replaced by ``***``; mappings within (the points of a sweep, a ``dict`` parameter) are
    redacted the same way. Redacting twice changes nothing."""
    from ..run.masking import secret_parameters

    hidden = secret_parameters(values)
    return {str(name): REDACTED if name in hidden else _redact_within(to_json(value))
            for name, value in values.items()}


def _redact_within(value: Any) -> Any:
    if isinstance(value, dict):
        return redact_parameters(value)
    if isinstance(value, list):
        return [_redact_within(item) for item in value]
    return value


def to_json(value: Any) -> Any:
    """A coerced value as JSON data (dates as ISO text, paths as text, NaN as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def json_safe(value: Any) -> bool:
    """Whether ``value`` is plain JSON data (no NaN, no objects)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
