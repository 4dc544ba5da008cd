"""``Parameter``: a notebook parameter as the pipeline IR, the exports and the JSON of a
pipeline carry it (name, declared type, default, help, whether it must be given)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Parameter"]


@dataclass(frozen=True)
class Parameter:
    """A pipeline parameter, from a ``parameters`` cell: ``lr: float = 0.1  # learning rate``."""

    name: str
    type: str | None = None  # the annotation as written ("float", "list[int]"), if any
    default: Any = None
    help: str | None = None
    required: bool = False
