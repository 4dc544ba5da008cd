"""Executing a prepared notebook in a kernel, with nbprod's own honest per-cell status.

papermill marks every cell ``completed`` after a dead kernel and exits 0 after ``sys.exit(0)``;
nbprod does not take its status from papermill's metadata. It follows each cell itself and ends
with one of:

    succeeded     every code cell ran                                   exit 0
    failed        a cell raised (cell number and id, ename, evalue)     exit 1
    incomplete    sys.exit(0) before the last cell (N cells not run)    exit 1
    kernel_died   the kernel process went away (os._exit, SIGKILL, OOM) exit 3
    timeout       a cell ran longer than --timeout                      exit 3
    interrupted   the runner itself was stopped (SIGTERM, Ctrl-C)       exit 3

The papermill-specific part (kernel, callbacks, atomic saves) lives in ``engine.py`` and is
imported only when a notebook actually runs.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDependencyError

__all__ = [
    "EXIT_CODES",
    "STATUSES",
    "CellRun",
    "Execution",
    "Progress",
    "RunnerInterrupted",
    "execute",
    "exit_code_for",
    "load_engine",
    "redacting",
    "resolve_kernel",
    "signals_interrupt",
]

EXIT_CODES = {
    "succeeded": 0,
    "failed": 1,
    "incomplete": 1,
    "kernel_died": 3,
    "timeout": 3,
    "interrupted": 3,
}
STATUSES = tuple(EXIT_CODES)

#: Called when a code cell starts: (position among code cells, number of code cells, cell).
Progress = Callable[[int, int, "CellRun"], None]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RunnerInterrupted(KeyboardInterrupt):
    """Raised in the runner by SIGTERM, so the run is recorded as ``interrupted`` on the way out.

    A ``KeyboardInterrupt`` subclass because asyncio (inside nbclient) lets exactly those pass.
    """


class signals_interrupt:
    """While a kernel runs, SIGTERM/SIGHUP raise ``RunnerInterrupted`` (Ctrl-C already raises
    KeyboardInterrupt), so the run ends recorded as ``interrupted`` and the kernel is killed.
    Only the main thread receives signals: elsewhere this does nothing."""

    _SIGNALS = ("SIGTERM", "SIGHUP")

    def __enter__(self):
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return self

        def handler(signum, frame):
            raise RunnerInterrupted(f"the runner received {signal.Signals(signum).name}")

        for name in self._SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                self.previous[number] = signal.signal(number, handler)
        return self

    def __exit__(self, *exc_info):
        for number, previous in self.previous.items():
            signal.signal(number, previous)
        return False


def exit_code_for(status: str) -> int:
    """The process exit code of a run status (DESIGN.md §4)."""
    return EXIT_CODES.get(status, 3)


@dataclass
class CellRun:
    """What happened to one code cell: nbprod's record, independent of papermill's metadata."""

    index: int  # 1-based position in the executed notebook
    cell: int | None  # 1-based position in the input notebook; None for injected parameters
    id: str | None
    status: str = "not_run"  # succeeded | failed | exited | kernel_died | timeout | interrupted
    start: str | None = None
    duration_s: float | None = None
    execution_count: int | None = None
    injected: bool = False

    @property
    def label(self) -> str:
        if self.injected:
            return "the injected parameters cell"
        return f"cell {self.cell}" + (f" (id {self.id!r})" if self.id else "")

    def to_dict(self) -> dict:
        data = asdict(self)
        if not self.injected:
            data.pop("injected")
        return data


@dataclass
class Execution:
    """The outcome of executing a notebook: status, per-cell records, the error if any."""

    status: str
    cells: list[CellRun]
    error: dict | None = None


def error_for(status: str, cell: CellRun | None, *, ename: str | None = None,
              evalue: str | None = None, traceback: str | None = None,
              not_run: int = 0, timeout: float | None = None,
              finished: CellRun | None = None) -> dict | None:
    """The receipt ``error`` for a status: which cell, what happened, in plain words.

    ``cell`` is the cell it happened in; when it happened between cells (a Ctrl-C as the
    kernel was stopped after the last one), ``finished`` is the last cell that finished.
    """
    if status == "succeeded":
        return None
    where = cell.label if cell is not None else "before the first cell"
    between = f"after {finished.label} finished" if finished else "before the first cell"
    if status == "failed":
        message = f"{where} raised {ename}: {evalue}"
    elif status == "incomplete":
        ename, evalue = ename or "SystemExit", evalue or "0"
        message = f"{where} called sys.exit; {not_run} cell{'s' if not_run != 1 else ''} not run"
    elif status == "kernel_died":
        ename, evalue = ename or "DeadKernelError", evalue or "the kernel process died"
        message = (f"the kernel died while running {where}" if cell is not None
                   else f"the kernel died {between}" if finished
                   else "the kernel died or did not start before the first cell")
    elif status == "timeout":
        limit = f"{timeout:g} s" if timeout else "the time limit"
        ename, evalue = ename or "CellTimeoutError", evalue or f"no result within {limit}"
        message = f"{where} did not finish within {limit}"
    else:
        ename, evalue = ename or "Interrupted", evalue or "the runner was stopped"
        message = (f"the run was interrupted while running {where}" if cell is not None
                   else f"the run was interrupted {between}")
    error = {
        "cell": cell.cell if cell is not None else None,
        "cell_id": cell.id if cell is not None else None,
        "ename": ename,
        "evalue": evalue,
        "message": message,
    }
    if traceback:
        error["traceback"] = _ANSI.sub("", traceback)
    if status == "incomplete":
        error["not_run"] = not_run
    return error


def is_clean_exit(ename: str | None, evalue: str | None) -> bool:
    """``sys.exit()``, ``sys.exit(0)`` or ``sys.exit(None)``: a stop, not an error."""
    return ename == "SystemExit" and (evalue or "").strip() in ("", "0", "None")


def kernel_dirs() -> list[str]:
    """Where Jupyter looks for kernels: its data path, then IPython's profile folder.

    jupyter_client computes the same list by importing IPython (most of it, for one path);
    giving the list ourselves keeps IPython out of the process that only starts kernels.
    """
    from jupyter_core.paths import jupyter_path

    ipython = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    return [*jupyter_path("kernels"), os.path.join(ipython, "kernels")]


def resolve_kernel(nb_node: Any, requested: str | None) -> tuple[str, str]:
    """The kernel to use (``--kernel``, else the notebook's kernelspec, else python3).

    Returns
    -------
    (name, language)

    Raises
    ------
    ConfigError
        When no kernel of that name is installed (the message lists the installed ones).
    """
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        raise MissingDependencyError("jupyter_client", "run", "nbprod run") from None
    kernelspec = nb_node.get("metadata", {}).get("kernelspec", {})
    name = requested or kernelspec.get("name") or "python3"
    manager = KernelSpecManager(kernel_dirs=kernel_dirs())
    try:
        spec = manager.get_kernel_spec(name)
    except NoSuchKernel:
        language = "" if requested else kernelspec.get("language") or ""
        raise ConfigError(no_such_kernel(name, sorted(manager.find_kernel_specs()), language,
                                         "pass --kernel NAME")) from None
    return name, (spec.language or "").lower()


def no_such_kernel(name: str, installed: list[str], language: str, choose: str) -> str:
    """The one line for a kernel that is not installed: which are, ``choose`` (how the caller
    picks another), and how to install it (ipykernel only serves Python)."""
    if str(language).lower() in ("", "python"):
        install = f"install it with python -m ipykernel install --user --name {name}"
    else:
        install = f"install the {language} kernel {name!r}"
    return (f"no Jupyter kernel named {name!r} is installed (installed: "
            f"{', '.join(installed) or 'none'}); {choose} or {install}")


def load_engine() -> Any:
    """Import the papermill-based engine (``engine.py``).

    Raises
    ------
    MissingDependencyError
        When papermill (the ``run`` extra) is not installed.
    """
    try:
        from . import engine
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "papermill"
        raise MissingDependencyError(missing, "run", "nbprod run") from None
    return engine


def execute(
    nb_node: Any,
    *,
    output_path: Path,
    kernel_name: str,
    cwd: Path,
    timeout: float | None,
    origins: list[int | None],
    setup_source: str | None,
    progress: Progress | None = None,
    redactor: Callable[[Any], Any] | None = None,
    notebook_meta: dict | None = None,
    log_output: Any = None,
) -> Execution:
    """Run every cell of ``nb_node`` (already parameterised) in a fresh kernel.

    Parameters
    ----------
    nb_node:
        The nbformat node to execute; outputs are written into it.
    output_path:
        Where the executed notebook is saved, atomically, after each cell.
    kernel_name:
        An installed kernelspec (``resolve_kernel``).
    cwd:
        The kernel's working directory.
    timeout:
        Per-cell limit in seconds (None: no limit).
    origins:
        For each cell of ``nb_node``, its 1-based position in the input notebook (None for the
        injected parameters cell), so errors name the cell the user can find.
    setup_source:
        Hidden code run silently before the first cell (audit hook, records file), or None.
    progress:
        Called as each code cell starts.
    redactor:
        Turns the notebook into the version that may be stored (secret values removed).
    notebook_meta:
        Stored under the output notebook's ``metadata.papermill`` (parameters, paths).
    log_output:
        Receives the notebook's stream output as it comes (``write``/``flush``), or None.

    Returns
    -------
    Execution

    Raises
    ------
    MissingDependencyError
        When papermill (the ``run`` extra) is not installed.
    """
    return load_engine().run(
        nb_node, output_path=output_path, kernel_name=kernel_name, cwd=cwd, timeout=timeout,
        origins=origins, setup_source=setup_source, progress=progress, redactor=redactor,
        notebook_meta=notebook_meta or {}, log_output=log_output,
    )


def redacting(masker: Any, injected_index: int | None,
              safe_source: str | None) -> Callable[[Any], Any]:
    """A function giving the storable copy of a notebook: no secret values in it.

    The injected parameters cell gets ``safe_source`` (secrets shown as ``***``) and every
    output is masked by ``masker`` (a ``masking.SecretMasker``: known secret values and what
    the lint detectors recognise), so neither reaches the store. The executing notebook is
    never changed; it is copied only when something must be hidden.
    """

    def redact(nb: Any) -> Any:
        hide_source = injected_index is not None and safe_source is not None
        if not hide_source and not masker.finds_any(nb):
            return nb
        clean = copy.deepcopy(nb)
        if hide_source:
            clean.cells[injected_index].source = safe_source
        return masker.outputs(clean)

    return redact
