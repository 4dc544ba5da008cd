"""nbprod: take Jupyter notebooks to production.

The public API is import-light: nothing here imports papermill, jupyter_server or Dask.
"""

from __future__ import annotations

from .errors import (
    ConfigError,
    ExecutionError,
    ExportError,
    InfrastructureError,
    NbprodError,
    NotebookError,
)
from .notebook import Cell, Notebook, load, save
from .run.models import record_model
from .run.record import record
from .version import __version__


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
