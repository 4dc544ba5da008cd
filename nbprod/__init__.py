"""nbprod: take Jupyter notebooks to production.

The public API is import-light: ``import nbprod`` imports the error classes and the version
only. The notebook model and ``record``/``record_model`` are imported when first used
(``__getattr__``), so that every ``nbprod`` command and every process that imports a
submodule does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ConfigError,
    ExecutionError,
    ExportError,
    InfrastructureError,
    NbprodError,
    NotebookError,
)
from .version import __version__

if TYPE_CHECKING:
    from .notebook import Cell, Notebook, load, save
    from .run.models import record_model
    from .run.record import record

#: Public names imported on first use: name -> the module that defines it.
_LAZY = {
    "Cell": "nbprod.notebook",
    "Notebook": "nbprod.notebook",
    "load": "nbprod.notebook",
    "save": "nbprod.notebook",
    "record": "nbprod.run.record",
    "record_model": "nbprod.run.models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbprod' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where Jupyter Server finds nbprod's server extension (loaded only by the server)."""
    return [{"module": "nbprod.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built JupyterLab extension lives inside the package (for ``develop``)."""
    return [{"src": "labextension", "dest": "nbprod"}]


__all__ = [
    "Cell",
    "ConfigError",
    "ExecutionError",
    "ExportError",
    "InfrastructureError",
    "NbprodError",
    "Notebook",
    "NotebookError",
    "__version__",
    "load",
    "record",
    "record_model",
    "save",
]
