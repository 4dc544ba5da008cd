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

__version__ = "0.1.0"

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
    "save",
]
