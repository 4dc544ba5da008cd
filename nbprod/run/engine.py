"""The papermill/nbclient side of a run: per-cell callbacks, honest statuses, atomic saves.

Imported only when a notebook runs (``execute.execute``), so ``nbprod lint`` never loads
papermill. The kernel's life (started in its own session, its whole process group killed at
the end, started again when it dies before running anything) is ``kernel.py``'s, shared with
the pytest plugin.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NotebookExecutionManager

from ..fsutil import atomic_write
from .execute import (
    CellRun,
    Execution,
    Progress,
    RunnerInterrupted,
    error_for,
    is_clean_exit,
)
from .kernel import START_ATTEMPTS, GroupKilledKernel

__all__ = ["run"]


class _Stop(Exception):
    """A terminal event inside the cell loop (timeout, dead kernel), carried out of papermill."""

    def __init__(self, status: str, cause: BaseException):
        super().__init__(status)
        self.status = status
        self.cause = cause


class _OutputManager(NotebookExecutionManager):
    """papermill's execution manager, saving atomically (and redacted) into the run folder."""

    def __init__(self, nb: Any, output_path: Path, redactor: Callable[[Any], Any] | None):
        super().__init__(nb, output_path=str(output_path), progress_bar=False, log_output=False,
                         autosave_cell_every=30)
        self._target = output_path
        self._redactor = redactor
        self._quiet = False
        self.durable = False

    def save(self, **kwargs: Any) -> None:
        if self._quiet:
            return
        node = self._redactor(self.nb) if self._redactor else self.nb
        # Saves after each cell are atomic (a killed run leaves a valid notebook); only the
        # final one is also fsynced, and validated, as it is the one kept.
        text = nbformat.writes(node) if self.durable else nbformat.v4.writes(node)
        atomic_write(self._target, text, durable=self.durable)
        self.last_save_time = self.now()

    def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        # One durable save per cell (on completion) is enough; skip papermill's save at start.
        self._quiet = True
        try:
            super().cell_start(cell, cell_index, **kwargs)
        finally:
            self._quiet = False


class _TrackingClient(GroupKilledKernel, PapermillNotebookClient):
    """papermill's client with nbprod's own per-cell tracking and a hidden setup step."""

    def __init__(self, nb_man: _OutputManager, *, cells: dict[int, CellRun],
                 setup_source: str | None, progress: Progress | None, **kw: Any):
        super().__init__(nb_man, **kw)
        self.tracked = cells
        self.setup_source = setup_source
        self.progress = progress
        self.failure: CellExecutionError | None = None
        self.failure_traceback: str | None = None
        self.started = False
        self.on_notebook_start = self._remember_kernel

    def _remember_kernel(self, notebook: Any = None) -> None:
        self.remember_kernel(notebook)
        self.started = True

    def _report_progress(self, position: int, total: int, record: CellRun) -> None:
        """Tell the caller a cell starts; a caller that cannot listen any more (its terminal
        or pipe went away) loses its progress, never the run."""
        if not self.progress:
            return
        try:
            self.progress(position, total, record)
        except Exception:  # noqa: BLE001 - reporting must not change the run's outcome
            self.progress = None

    def papermill_execute_cells(self) -> None:
        if self.setup_source:
            self._run_setup()
        total = len(self.tracked)
        position = 0
        for index, cell in enumerate(self.nb.cells):
            record = self.tracked.get(index)
            if record is not None:
                position += 1
                record.start = datetime.now(timezone.utc).isoformat()
                self._report_progress(position, total, record)
            began = time.monotonic()
            try:
                self.nb_man.cell_start(cell, index)
                self.execute_cell(cell, index)
            except CellExecutionError as exc:
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=exc)
                self.failure = exc
                self.failure_traceback = _error_traceback(self.nb.cells[index]) or exc.traceback
                if record is not None:
                    record.status = "exited" if is_clean_exit(exc.ename, exc.evalue) else "failed"
                break
            except CellTimeoutError as exc:
                self._stop_cell(record, "timeout", began)
                raise _Stop("timeout", exc) from None
            except DeadKernelError as exc:
                self._stop_cell(record, "kernel_died", began)
                raise _Stop("kernel_died", exc) from None
            except BaseException:
                self._stop_cell(record, "interrupted", began)
                raise
            else:
                if record is not None:
                    record.status = "succeeded"
            finally:
                if record is not None and record.duration_s is None:
                    record.duration_s = round(time.monotonic() - began, 6)
                    record.execution_count = self.nb.cells[index].get("execution_count")
                self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)

    def _stop_cell(self, record: CellRun | None, status: str, began: float) -> None:
        self.kill()  # don't wait for a polite shutdown of a stuck kernel
        if record is not None:
            record.status = status
            record.duration_s = round(time.monotonic() - began, 6)

    def _run_setup(self) -> None:
        """Run the hidden setup code: silent, so it gets no cell, execution count or output."""
        assert self.kc is not None
        msg_id = self.kc.execute(self.setup_source, silent=True, store_history=False,
                                 stop_on_error=True)
        reply = self.wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(
                f"nbprod's setup code failed in the kernel: {content.get('ename')}:"
                f" {content.get('evalue')}"
            )


def run(
    nb_node: Any,
    *,
    output_path: Path,
    kernel_name: str,
    cwd: Path,
    timeout: float | None,
    origins: list[int | None],
    setup_source: str | None,
    progress: Progress | None,
    redactor: Callable[[Any], Any] | None,
    notebook_meta: dict,
    log_output: Any = None,
) -> Execution:
    """Execute the notebook and classify the outcome (see ``execute.execute``)."""
    cells: dict[int, CellRun] = {}
    for index, cell in enumerate(nb_node.cells):
        if cell.cell_type == "code" and cell.source.strip():
            origin = origins[index] if index < len(origins) else None
            cells[index] = CellRun(index + 1, origin, cell.get("id"), injected=origin is None)
    nb_node.metadata["papermill"] = dict(notebook_meta)
    for attempt in range(1, START_ATTEMPTS + 1):
        manager = _OutputManager(nb_node, output_path, redactor)
        client = _TrackingClient(
            manager, cells=cells, setup_source=setup_source, progress=progress,
            kernel_name=kernel_name, timeout=max(1, math.ceil(timeout)) if timeout else None,
            startup_timeout=60, resources={"metadata": {"path": str(cwd)}},
            raise_on_iopub_timeout=False, log=_quiet_logger(),
            # papermill's own echo of stream output, pointed at the caller's writer.
            stdout_file=log_output, stderr_file=log_output,
        )
        status, cause = _attempt(nb_node, cells, manager, client, output_path)
        # A kernel that never came up ran nothing: start another. The usual cause is a port
        # race (jupyter_client picks free TCP ports, another process takes one first).
        if client.started or status != "kernel_died" or attempt == START_ATTEMPTS:
            break
    records = list(cells.values())
    error = None
    if status == "succeeded" and client.failure is not None:
        failure = client.failure
        current = next((c for c in records if c.status in ("failed", "exited")), None)
        after = [c for c in records if current and c.index > current.index]
        if is_clean_exit(failure.ename, failure.evalue):
            status = "incomplete" if after else "succeeded"
            error = error_for(status, current, ename=failure.ename, evalue=failure.evalue,
                              not_run=len(after)) if after else None
        else:
            status = "failed"
            error = error_for("failed", current, ename=failure.ename, evalue=failure.evalue,
                              traceback=client.failure_traceback)
    elif status != "succeeded":
        current = next((c for c in records if c.status == status), None)
        detail = None
        if status == "kernel_died" and not isinstance(cause, DeadKernelError):
            detail = f"the kernel did not start: {type(cause).__name__}: {cause}"
        elif status == "interrupted" and str(cause):
            detail = str(cause)
        finished = [c for c in records if c.status == "succeeded"]
        error = error_for(status, current, evalue=detail, timeout=timeout,
                          finished=finished[-1] if finished and current is None else None)
    _finish(nb_node, cells, status)
    _safe_save(manager)
    return Execution(status=status, cells=records, error=error)


def _attempt(nb_node: Any, cells: dict[int, CellRun], manager: _OutputManager,
             client: _TrackingClient, output_path: Path) -> tuple[str, BaseException | None]:
    """Start a kernel and run the cells once; the status before cell errors are classified."""
    status, cause = "succeeded", None
    manager.notebook_start()
    # The kernel's own stderr (not the notebook's) goes to a log beside the output, for
    # post-mortems of dead kernels, instead of interleaving with nbprod's progress.
    kernel_log = open(output_path.parent / "kernel.log", "ab")
    try:
        client.execute(stderr=kernel_log, stdout=kernel_log)
    except _Stop as stop:
        status, cause = stop.status, stop.cause
    except (KeyboardInterrupt, RunnerInterrupted) as exc:
        status, cause = "interrupted", exc
    except Exception as exc:
        if client.started:
            _finish(nb_node, cells, "interrupted")
            _safe_save(manager)
            raise  # not a notebook problem: the caller records the run and reports a bug
        status, cause = "kernel_died", exc  # the kernel never came up
    finally:
        client.kill()
        kernel_log.close()
        manager.cleanup_pbar()
        manager.notebook_complete()
    return status, cause


def _error_traceback(cell: Any) -> str | None:
    """The traceback the kernel reported for a failed cell (its ``error`` output)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error" and output.get("traceback"):
            return "\n".join(output["traceback"])
    return None


def _finish(nb_node: Any, cells: dict[int, CellRun], status: str) -> None:
    """Overwrite papermill's per-cell status with nbprod's (papermill says 'completed' even for
    cells a dead kernel never ran)."""
    for index, record in cells.items():
        meta = nb_node.cells[index].metadata.setdefault("papermill", {})
        meta["status"] = {"succeeded": "completed", "not_run": "pending"}.get(record.status,
                                                                               "failed")
        meta["exception"] = record.status not in ("succeeded", "not_run")
    nb_node.metadata.setdefault("nbprod", {})["status"] = status


def _safe_save(manager: _OutputManager) -> None:
    manager.durable = True
    try:
        manager.save()
    except OSError:
        pass  # the partial output saved after the last completed cell stays in place


def _quiet_logger():
    import logging

    # nbclient logs kernel trouble as errors; nbprod reports it in the receipt instead.
    logger = logging.getLogger("nbprod.run.kernel")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    asyncio_logger = logging.getLogger("asyncio")
    if not any(isinstance(f, _NbclientTeardown) for f in asyncio_logger.filters):
        asyncio_logger.addFilter(_NbclientTeardown())
    return logger


class _NbclientTeardown:
    """Drops asyncio's reports of nbclient tasks left behind when a run ends early (a cell
    timeout, a dead kernel, a signal): "Task was destroyed but it is pending!" and "Task
    exception was never retrieved", with a traceback, printed at exit after nbprod has
    already recorded and reported what happened. Other asyncio reports pass."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        return not (message.startswith(("Task was destroyed but it is pending",
                                        "Task exception was never retrieved"))
                    and "nbclient" in message)
