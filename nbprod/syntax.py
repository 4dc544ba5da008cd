"""``parse``: ``ast.parse`` that is safe to call from several threads at once.

CPython 3.11 before 3.11.8 (python/cpython#106905) keeps the recursion depth of the
conversion from its internal syntax tree to ``ast`` objects in shared state: when the
garbage collector runs during one thread's ``ast.parse`` while another thread parses too,
either may fail with a spurious ``SystemError`` ("AST constructor recursion depth
mismatch"). nbprod runs notebooks on threads (sweeps and pipelines on the local executor),
and each run parses its parameters cell, so every parse in nbprod goes through one lock.
Parses are short; in the single-threaded linter the lock is never contended.
"""

from __future__ import annotations

import ast
import threading

__all__ = ["parse"]

_LOCK = threading.Lock()


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """``ast.parse(source, filename, mode)`` under nbprod's parse lock."""
    with _LOCK:
        return ast.parse(source, filename, mode)
