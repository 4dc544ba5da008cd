"""The nbprod exception tree and the exit code each error maps to.

Every error a user can cause is an ``NbprodError``. Its message says what is wrong, where
(file, cell, line) and what to do next; its ``exit_code`` is a class attribute, so the CLI
boundary (``nbprod.cli``) is the one place that turns errors into exit codes::

    NbprodError                  exit 2  root: usage, configuration, unreadable input
    ├── ConfigError              exit 2  bad [tool.nbprod], unknown rule / exporter / executor
    ├── NotebookError            exit 2  unreadable or invalid notebook
    ├── PathError                exit 2  a path outside the project / server root, or refused
    ├── PluginError              exit 2  an entry point failed to load
    ├── MissingDependencyError   exit 2  an optional extra is not installed
    ├── ExportError              exit 2  a notebook cannot be exported as tagged
    │   └── CellExportError      exit 2  one cell cannot (left out unless --strict)
    ├── ParameterError           exit 2  a parameter value does not fit the schema
    ├── StoreError               exit 2  the run store is missing or damaged
    ├── PipelineError            exit 2  a cycle, a missing step, an input nobody produces
    ├── LockError                exit 2  a run's environment cannot be locked or built
    ├── DataChangedError         exit 2  a run's inputs changed, so a rerun would not reproduce it
    ├── ExecutionError           exit 1  a cell raised, a step failed
    └── InfrastructureError      exit 3  the kernel died, a timeout, the runner was interrupted

Exit codes follow ruff and click: 0 clean, 1 findings or a failed notebook, 2 bad input,
3 the execution machinery failed (so CI can tell a flaky machine from a broken notebook).
"""

from __future__ import annotations

__all__ = [
    "CellExportError",
    "ConfigError",
    "ExecutionError",
    "ExportError",
    "DataChangedError",
    "InfrastructureError",
    "LockError",
    "MissingDependencyError",
    "NbprodError",
    "NbprodWarning",
    "NotebookError",
    "ParameterError",
    "PathError",
    "PipelineError",
    "PluginError",
    "StoreError",
]


class NbprodError(Exception):
    """Raised when nbprod cannot do what was asked; the message says what to do next."""

    exit_code: int = 2

    def to_dict(self) -> dict:
        """The error as JSON data: the same shape for the CLI and the server."""
        return {"error": type(self).__name__, "message": str(self)}


class ConfigError(NbprodError):
    """Raised when ``[tool.nbprod]`` or a command-line option is invalid."""


class NotebookError(NbprodError):
    """Raised when a file cannot be read as a Jupyter notebook."""


class PathError(NbprodError):
    """Raised when a path lies outside the allowed root or would overwrite a protected file."""


class PluginError(NbprodError):
    """Raised when a third-party plugin (entry point) cannot be loaded."""


class MissingDependencyError(NbprodError):
    """Raised when a feature needs an optional extra that is not installed."""

    def __init__(self, package: str, extra: str, feature: str):
        super().__init__(
            f"{feature} needs {package}, which is not installed: pip install 'nbprod[{extra}]'"
        )


class ExportError(NbprodError):
    """Raised when tagged cells cannot be exported (a magic in an export cell, a bad name...)."""


class CellExportError(ExportError):
    """Raised when one cell cannot be exported as tagged; ``cell`` is its 1-based index, so a
    non-strict export can leave that cell out and say why instead of refusing the notebook."""

    def __init__(self, message: str, cell: int) -> None:
        super().__init__(message)
        self.cell = cell


class ParameterError(NbprodError):
    """Raised when a parameter value is unknown, missing or of the wrong type."""


class StoreError(NbprodError):
    """Raised when the run store cannot be opened or a run id does not exist."""


class PipelineError(NbprodError):
    """Raised when a pipeline is invalid: a cycle, an unknown step, an input no step produces."""


class LockError(NbprodError):
    """Raised when a run's environment cannot be locked or built: a version the index does not
    have, a local package whose folder is gone, a Python that is not installed."""


class DataChangedError(NbprodError):
    """Raised when an isolated reproduce finds the run's input files changed or missing."""


class ExecutionError(NbprodError):
    """Raised when a notebook cell or a pipeline step raised an exception."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        cell: int | None = None,
        cell_id: str | None = None,
        ename: str | None = None,
        evalue: str | None = None,
        traceback: str | None = None,
    ):
        super().__init__(message)
        self.cell = cell
        self.cell_id = cell_id
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback

    def to_dict(self) -> dict:
        data = super().to_dict()
        data.update(cell=self.cell, cell_id=self.cell_id, ename=self.ename, evalue=self.evalue)
        return data


class InfrastructureError(NbprodError):
    """Raised when the execution machinery failed: a dead kernel, a timeout, an interrupt."""

    exit_code = 3


class NbprodWarning(UserWarning):
    """Warned when nbprod repaired or upgraded something it read (an old nbformat, missing ids)."""
