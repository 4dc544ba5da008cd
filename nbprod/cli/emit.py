"""``emit``: print a generated document, or write it to ``--output`` (atomically)."""

from __future__ import annotations

from pathlib import Path

import click

from ..fsutil import atomic_write

__all__ = ["emit"]


def emit(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output`` and say so on stderr, or print it to stdout as it is."""
    if output:
        atomic_write(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
