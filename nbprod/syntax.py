"""Parsing Python source while other threads parse too.

CPython 3.11 before 3.11.8 and 3.12 before 3.12.2 (python/cpython#106905) keep the recursion
depth of the AST constructor, which turns the parser's tree into ``ast`` objects, in state the
whole interpreter shares. The constructor runs no Python code of its own, so the parsing thread
keeps the GIL, except when an allocation starts a garbage collection: finalizers and gc
callbacks are Python code, and another thread may run there. If that thread parses too, it
resets the shared depth, and the first parse fails with a spurious
``SystemError: AST constructor recursion depth mismatch``.

nbprod runs notebooks on threads (sweeps and pipelines on the local executor), and those
threads parse in code nbprod does not own: grammars that ``ast.literal_eval`` their tokens
when first imported, ``inspect.signature``, and 3.11's traceback formatting, which parses the
failing line to place its carets. Guarding nbprod's own parses is therefore not enough.

``parse`` holds garbage collection off while the interpreter parses, so nothing else runs in
the middle of it, and a lock makes sure no other guarded parse turns collection back on
meanwhile. Before nbprod runs notebooks on threads, ``guard_parsing`` makes it the process's
``ast.parse``, which ``literal_eval``, ``inspect`` and ``traceback`` call. On releases without
the shared state, ``parse`` is plain ``ast.parse`` and ``guard_parsing`` does nothing.
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from typing import Any

__all__ = ["SHARED_AST_STATE", "guard_parsing", "parse"]

#: Whether this interpreter shares the AST constructor's depth between threads. 3.10 is
#: counted in: guarding costs little where it turns out not to be needed.
SHARED_AST_STATE = sys.version_info < (3, 11, 8) or (3, 12) <= sys.version_info < (3, 12, 2)

_interpreter_parse = ast.parse
# Re-entrant: an audit hook run by compile() may itself parse, on the same thread.
_LOCK = threading.RLock()


def parse(source: Any, filename: Any = "<unknown>", mode: str = "exec",
          **options: Any) -> ast.AST:
    """``ast.parse``, safe to call while other threads parse (see the module docstring)."""
    if not SHARED_AST_STATE:
        return _interpreter_parse(source, filename, mode, **options)
    with _LOCK:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _interpreter_parse(source, filename, mode, **options)
        finally:
            if collecting:
                gc.enable()


def guard_parsing() -> None:
    """Make ``parse`` the process's ``ast.parse`` where the interpreter needs it; idempotent."""
    if SHARED_AST_STATE:
        ast.parse = parse
