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
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "credential_parameters", "is_secret", "json_safe",
           "mask_known", "redact", "redact_parameters", "secret_parameters", "secret_values",
           "to_json"]

REDACTED = "***"
#: Secret parameter values shorter than this are not masked in text (they still never reach
#: a record as values): masking ``ab`` would blank out unrelated text.
MIN_SECRET_LENGTH = 4

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


def credential_parameters(values: Mapping[str, object]) -> set[str]:
    """Names of parameters whose text value the secret detectors recognise, whatever the name
    (``-p db_url postgresql://ana:s3cret@db/x``): redacted like secret-named ones."""
    from ..lint.rules.secrets import find_secrets

    return {name for name, value in values.items()
            if isinstance(value, str) and find_secrets(value)}


def secret_parameters(values: Mapping[str, object]) -> set[str]:
    """Names of the parameters whose values are never stored nor shown: secret by name
    (``api_token``, ``password``) or by value (``credential_parameters``)."""
    return {name for name in values if is_secret(str(name))} | credential_parameters(values)


def secret_values(values: Mapping[str, object]) -> list[str]:
    """The texts of the values ``secret_parameters`` names, long enough to mask in text;
    mappings within (the points of a sweep, a ``dict`` parameter) are searched the same way."""
    found: list[str] = []
    hidden = secret_parameters(values)
    for name, value in values.items():
        if name in hidden:
            found += _leaves(value)
        elif isinstance(value, Mapping):
            found += secret_values(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, Mapping):
                    found += secret_values(item)
    return list(dict.fromkeys(v for v in found if len(v) >= MIN_SECRET_LENGTH))


def _leaves(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _leaves(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _leaves(item)]
    return [str(value)]


def mask_known(node: Any, known: Iterable[str], skip: Iterable[str] = (),
               keep: Callable[[str], bool] | None = None) -> Any:
    """A copy of JSON data with every known secret value in its texts replaced by ``***``
    (mapping keys are left alone, and so are the values under the keys in ``skip`` and the
    texts ``keep`` accepts, such as content hashes)."""
    values = sorted({v for v in known if v}, key=len, reverse=True)  # longest first
    if not values:
        return node
    skipped = frozenset(skip)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            if keep is not None and keep(item):
                return item
            for value in values:
                if value in item:
                    item = item.replace(value, REDACTED)
            return item
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, dict):
            return {k: v if k in skipped else walk(v) for k, v in item.items()}
        return item

    return walk(node)
