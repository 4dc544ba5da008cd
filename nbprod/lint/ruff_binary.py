"""Which ruff runs: the one installed with nbprod, found without importing what running it
needs (the lint cache names it in its key on every run, most of which never start ruff)."""

from __future__ import annotations

import os

from ..errors import InfrastructureError

__all__ = ["ruff_binary"]


def ruff_binary() -> str:
    """The ruff executable that belongs to this Python environment.

    Raises
    ------
    InfrastructureError
        When ruff is not installed (it is a dependency of nbprod, so the install is broken).
    """
    try:
        from ruff.__main__ import find_ruff_bin

        return os.fsdecode(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        pass
    import shutil

    found = shutil.which("ruff")
    if found:
        return found
    raise InfrastructureError(
        "ruff is not installed in this environment; reinstall nbprod (pip install nbprod)"
        " or run with --no-ruff"
    )
