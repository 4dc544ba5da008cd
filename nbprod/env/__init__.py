"""Rebuilding the environment a run ran in: locks from receipts, isolated environments.

A receipt records every distribution of the kernel's interpreter and, among them, those the run
needed (``environment.needed``: what the kernel imported, with their requirements). From that,
``lock.plan_for`` pins what to install and ``lock.compile_lock`` turns it into a
``requirements.txt`` (exact versions, hashes) and a ``pylock.toml`` (PEP 751) with uv's
resolver; ``isolated.ensure_environment`` builds a virtual environment from the lock with uv and
registers a Jupyter kernel for it. Locks and environments are cached under nbprod's cache folder
(``$NBPROD_CACHE_DIR``), keyed by content, so the second reproduce of a run costs no install.
"""

from __future__ import annotations

from .isolated import IsolatedEnv, ensure_environment
from .lock import Lock, Plan, Sources, compile_lock, plan_for

__all__ = [
    "IsolatedEnv",
    "Lock",
    "Plan",
    "Sources",
    "compile_lock",
    "ensure_environment",
    "plan_for",
]
