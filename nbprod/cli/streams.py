"""Printing that survives its terminal: any text, and a reader that goes away.

Text: a notebook may hold any character, and a terminal or pipe may only take ASCII or
Latin-1 (``PYTHONIOENCODING``, an old locale). ``tolerate_any_text`` makes such streams
print what they cannot encode as escapes (``\u6f22``) instead of failing.

Readers: ``nbprod run nb.ipynb | head -1`` must not stop a run.
When the program reading nbprod's output exits, the next write raises ``BrokenPipeError``.
Raised in the middle of a run, it would end the run as interrupted. Instead the stream is
pointed at ``/dev/null`` (as the Python documentation recommends for SIGPIPE-less
programs): the command carries on, finishes its work and exits with its own code, quietly.
"""

from __future__ import annotations

import os
import sys

import click

__all__ = ["echo", "silence", "tolerate_any_text"]


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` that drops the text, and all later output to the same stream, once the
    reader has gone away."""
    try:
        click.echo(message, err=err, nl=nl)
    except BrokenPipeError:
        silence(sys.stderr if err else sys.stdout)


def silence(*streams) -> None:
    """Send everything still to be written to ``streams`` to ``/dev/null``."""
    for stream in streams:
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            continue  # not backed by a file descriptor (a test runner's buffer)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def tolerate_any_text() -> None:
    """Have stdout and stderr escape characters their encoding cannot write."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                continue  # a stream that cannot change now (detached, in use)
