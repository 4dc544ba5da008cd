"""Named crash points so tests can ``kill -9`` the store at an exact step of a write.

``NBPROD_STORE_CRASHPOINT=<name>`` makes the process SIGKILL itself when it reaches that point;
a comma-separated list of names is accepted. The check is one dict lookup, so it stays in
production code, like SQLite's own fault-injection hooks, and the crash tests exercise exactly the
code users run.
"""

from __future__ import annotations

import os
import signal

__all__ = ["crashpoint", "CRASHPOINTS"]

#: Every point a test can ask for, in the order a run passes them.
CRASHPOINTS = (
    "begin.after_insert",
    "object.after_temp",
    "object.after_rename",
    "finish.after_receipt",
    "finish.after_index",
)

_ARMED = frozenset(
    name.strip()
    for name in os.environ.get("NBPROD_STORE_CRASHPOINT", "").split(",")
    if name.strip()
)


def crashpoint(name: str) -> None:
    """Kill this process with SIGKILL if ``name`` is armed (a test asked for a crash here)."""
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
