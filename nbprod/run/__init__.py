"""Running notebooks with typed parameters, honest status and a receipt in the run store.

``run_notebook`` is the one entry point the CLI, sweeps, pipelines and the server call. It is
import-light: papermill and the kernel machinery load only when a notebook actually runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NbprodError, PathError

__all__ = [
    "RunConfig",
    "RunResult",
    "reproduce",
    "run_notebook",
]


@dataclass(frozen=True)
class RunConfig:
    """``[tool.nbprod.run]``: defaults for ``nbprod run`` (command-line options win).

    Parameters
    ----------
    kernel:
        Kernel name; default the notebook's own kernelspec.
    timeout:
        Per-cell time limit in seconds; default none.
    cwd:
        The kernel's working directory, relative to the project root; default the notebook's
        folder (as Jupyter does).
    capture:
        Record the files the notebook opens (audit hook in the kernel).
    profile_max_bytes:
        CSV inputs larger than this are profiled on their first part only.
    """

    kernel: str | None = None
    timeout: float | None = None
    cwd: str | None = None
    capture: bool = True
    profile_max_bytes: int = 64 * 2**20


@dataclass(frozen=True)
class RunResult:
    """What a run produced. ``status`` is one of ``execute.STATUSES``.

    ``error`` is None for a succeeded run, an ``ExecutionError`` (exit 1) for failed and
    incomplete runs, an ``InfrastructureError`` (exit 3) for kernel_died, timeout and
    interrupted runs.
    """

    run_id: str
    status: str
    run_dir: Path
    receipt: dict
    error: NbprodError | None = None

    @property
    def output_path(self) -> Path:
        """The executed notebook in the run store."""
        return self.run_dir / "output.ipynb"

    @property
    def exit_code(self) -> int:
        from .execute import exit_code_for

        return exit_code_for(self.status)


def run_notebook(
    path: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    *,
    project_root: str | os.PathLike | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float | None = None,
    kernel: str | None = None,
    store: Any = None,
    text_parameters: frozenset[str] | set[str] = frozenset(),
    kind: str = "run",
    parent: str | None = None,
    output: str | os.PathLike | None = None,
    progress: Any = None,
    source: bytes | None = None,
    log_output: Any = None,
) -> RunResult:
    """Execute a notebook with parameters and record the run (output notebook + receipt).

    The input notebook is never modified. The executed copy is saved atomically into
    ``<store>/runs/<run_id>/output.ipynb`` after each cell; the receipt (parameters, notebook
    hash, environment, per-cell timing, data files read and written, records, status, error)
    is written last.

    Parameters
    ----------
    path:
        The notebook.
    parameters:
        Name -> value. Checked against the ``parameters`` cell and converted to the declared
        types; unknown names and missing required ones are refused.
    project_root:
        The project (its pyproject.toml configures the store and ``[tool.nbprod.run]``);
        default: found from the notebook's folder upwards.
    cwd:
        The kernel's working directory; default ``[tool.nbprod.run] cwd``, else the notebook's
        folder.
    timeout:
        Per-cell limit in seconds.
    kernel:
        Kernel name; default the notebook's kernelspec.
    store:
        An open ``nbprod.store.Store`` or the path of a project whose store to use; default
        the project's store. Data and notebook paths in the receipt are relative to the
        project root even when the store lives elsewhere (a scratch store on a worker).
    text_parameters:
        Names whose values are command-line text (``-p``) to be parsed; other values are data.
    kind, parent:
        Recorded in the receipt (``reproduce`` runs point at the run they reproduce).
    output:
        Also copy the executed notebook here (never the input notebook or another source
        notebook).
    progress:
        ``progress(position, total, cell_run)`` called as each code cell starts.
    source:
        Notebook content to run instead of the file's current content (``reproduce`` runs
        the version recorded in the store); ``path`` still names it in the receipt.
    log_output:
        A file-like object (``write``, ``flush``) that receives the notebook's stream output
        (stdout and stderr text) as it is produced: papermill's ``--log-output``.

    Returns
    -------
    RunResult
        Also for failed, timed-out, dead-kernel and interrupted runs (see ``status``).

    Raises
    ------
    NotebookError, ParameterError, ConfigError, PathError, MissingDependencyError
        For bad input, before anything is written (exit 2).
    StoreError
        When the run store cannot be used.
    """
    from .. import notebook as nbmod
    from ..config import load_project_config
    from ..params.coerce import resolve, schema
    from .execute import resolve_kernel

    nb_path = Path(path)
    raw = source if source is not None else nbmod.read_bytes(nb_path)
    nb = nbmod.loads(raw, path=nb_path)
    where = str(nb_path)
    declared = schema(nb)
    values = resolve(declared, dict(parameters or {}), texts=frozenset(text_parameters),
                       where=where)

    project = load_project_config(project_root if project_root is not None else nb_path)
    overrides = {"kernel": kernel, "timeout": timeout}
    config = project.section("run", RunConfig, **overrides)
    kernel_name, language = resolve_kernel(nb.node, config.kernel)
    kernel_cwd = _kernel_cwd(cwd, config, project.root, nb_path)
    output_copy = _check_output(output, nb_path) if output is not None else None

    if store is None or isinstance(store, (str, os.PathLike)):
        from ..store import Store, StoreConfig

        # The project's configuration, read once above, also places the store.
        store = (Store.open(project.root, config=project.section("store", StoreConfig))
                 if store is None else Store.open(store))
    from .runner import Runner

    runner = Runner(store=store, root=project.root, nb=nb, raw=raw, values=values,
                    kernel_name=kernel_name, language=language, cwd=kernel_cwd, config=config,
                    kind=kind, parent=parent, output_copy=output_copy, progress=progress,
                    log_output=log_output)
    return runner.run()


def _kernel_cwd(cwd: Any, config: RunConfig, root: Path, nb_path: Path) -> Path:
    if cwd is not None:
        folder = Path(cwd)
    elif config.cwd:
        folder = root / config.cwd
    else:
        folder = nb_path.parent
    folder = folder.resolve()
    if not folder.is_dir():
        raise PathError(f"--cwd {folder}: no such folder; give an existing working directory")
    return folder


def _check_output(output: str | os.PathLike, nb_path: Path) -> Path:
    """Refuse an output copy that would overwrite the input or another source notebook."""
    try:
        target = Path(output).resolve()
        source = nb_path.resolve()
    except (OSError, RuntimeError):
        raise PathError(f"--output {output}: is a symlink loop; choose another path") from None
    if target == source or (target.exists() and source.exists() and target.samefile(source)):
        raise PathError(
            f"--output {output}: is the input notebook; nbprod never overwrites it, choose"
            " another path"
        )
    if target.suffix != ".ipynb":
        raise PathError(f"--output {output}: must end in .ipynb")
    if target.exists():
        from ..notebook import NotebookError, load

        try:
            existing = load(target)
        except NotebookError:
            raise PathError(
                f"--output {output}: exists and is not a notebook nbprod wrote; choose another"
                " path"
            ) from None
        if not _is_run_output(existing.node.get("metadata", {}), target):
            raise PathError(
                f"--output {output}: is a source notebook (not an nbprod output); nbprod does"
                " not overwrite source notebooks, choose another path"
            )
    return target


def _is_run_output(metadata: dict, target: Path) -> bool:
    """Whether a notebook is the output of an earlier run at ``target``: written by nbprod,
    or by papermill to this very name (``papermill in.ipynb out.ipynb`` then
    ``nbprod run in.ipynb out.ipynb`` in the same script)."""
    if "nbprod" in metadata:
        return True
    papermill = metadata.get("papermill")
    recorded = papermill.get("output_path") if isinstance(papermill, dict) else None
    return isinstance(recorded, str) and Path(recorded).name == target.name


def reproduce(run_id: str, **kwargs: Any):
    """Re-run a recorded run and compare its outputs (see ``nbprod.run.reproduction.reproduce``)."""
    from .reproduction import reproduce as _reproduce

    return _reproduce(run_id, **kwargs)
