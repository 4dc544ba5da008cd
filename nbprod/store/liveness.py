"""Is the process that started a run still alive? (pid + start time, so pid reuse is caught)."""

from __future__ import annotations

import os
import socket

__all__ = ["hostname", "process_start", "process_alive"]


def hostname() -> str:
    """This machine's name, recorded with every running run."""
    return socket.gethostname()


def _proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return text[text.rfind(")") + 2:].split()


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), or None if unknown."""
    fields = _proc_stat(pid)
    if fields is None or len(fields) < 20:
        return None
    return int(fields[19])


def process_alive(pid: int, start: int | None = None) -> bool:
    """True when ``pid`` runs and, if ``start`` is given, is still the same process.

    A zombie (killed, not yet reaped) counts as gone; a pid reused by another program is caught
    by comparing start times where ``/proc`` exists.
    """
    if pid <= 0:
        return False
    if os.path.isdir("/proc/self"):
        fields = _proc_stat(pid)
        if fields is None:
            return False
        if fields[0] in ("Z", "X"):
            return False
        return start is None or int(fields[19]) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
