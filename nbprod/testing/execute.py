"""Executing one notebook top to bottom in a fresh kernel, cell by cell, for a test.

Cells are sent one at a time through nbclient (rather than ``NotebookClient.execute``) so each
result is checked as it arrives: a failure names its cell, and compare mode checks every cell
against its stored outputs. The input notebook is never modified; execution runs on a copy.
"""

from __future__ import annotations

import asyncio
import atexit
import re
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import NbprodError
from ..markers import cell_marks
from ..notebook import Cell, Notebook
from .config import TestConfig
from .inject import inject_parameters
from .outputs import compare_outputs

__all__ = ["CellProblem", "NotebookOutcome", "check_notebook"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class CellProblem:
    """One reason a notebook test failed, located at a cell when there is one."""

    kind: str  # "error" | "mismatch" | "timeout" | "kernel" | "setup" (an nbprod error)
    summary: str  # one line: what went wrong
    cell: Cell | None = None
    detail: str = ""  # traceback or unified diff


@dataclass
class NotebookOutcome:
    """What running one notebook found."""

    problems: list[CellProblem] = field(default_factory=list)
    executed: int = 0
    notebook: Any = None  # the executed copy (nbformat node), for a failure's HTML report
    skipped: list[tuple[Cell, str]] = field(default_factory=list)  # (cell, marker)
    compared: int = 0

    @property
    def passed(self) -> bool:
        return not self.problems


def check_notebook(
    nb: Notebook,
    config: TestConfig,
    *,
    parameters: dict[str, Any] | None = None,
    cwd: Path | None = None,
) -> NotebookOutcome:
    """Run ``nb`` in a fresh kernel and check it as ``config.mode`` asks.

    Parameters
    ----------
    nb:
        The loaded notebook (its stored outputs are the reference in compare mode).
    config:
        Mode, timeouts, kernel, sanitizers and tolerances.
    parameters:
        Test-time parameters injected after the ``parameters`` cell.
    cwd:
        The kernel's working directory (default: the notebook's folder).

    Returns
    -------
    NotebookOutcome
        Problems are data: a cell that raised, outputs that differ, a timeout, a dead kernel.
    """
    outcome = NotebookOutcome()
    try:
        node, injected_at, replaced = inject_parameters(nb, parameters or {})
    except NbprodError as exc:
        outcome.problems.append(CellProblem("setup", str(exc)))
        return outcome
    workdir = cwd or (nb.path.parent if nb.path else Path.cwd())
    plan = _plan(nb, injected_at, replaced)
    asyncio.run(_execute(node, plan, config, workdir, outcome))
    outcome.notebook = node
    return outcome


def _plan(nb: Notebook, injected_at: int | None, replaced: bool) -> list[tuple[int, Cell | None]]:
    """(position in the executed copy, original cell) in execution order; ``None`` stands for
    the injected parameters cell, which has no original to compare with or report."""
    plan: list[tuple[int, Cell | None]] = []
    for cell in nb.cells:
        position = cell.index - 1
        if injected_at is not None and position == injected_at and replaced:
            continue  # a stale injected cell from an earlier papermill run: replaced below
        if injected_at is not None and position >= injected_at and not replaced:
            position += 1
        plan.append((position, cell))
    if injected_at is not None:
        plan.append((injected_at, None))
        plan.sort(key=lambda entry: entry[0])
    return plan


async def _execute(
    node: Any,
    plan: list[tuple[int, Cell | None]],
    config: TestConfig,
    workdir: Path,
    outcome: NotebookOutcome,
) -> None:
    """Run the plan in a fresh kernel; a kernel that dies before running anything is started
    again, as ``nbprod run`` does (``nbprod.run.kernel``)."""
    from ..run.kernel import START_ATTEMPTS

    kernelspec = node.get("metadata", {}).get("kernelspec", {})
    kernel = config.kernel or kernelspec.get("name") or "python3"
    missing = _missing_kernel(kernel, "" if config.kernel else kernelspec.get("language") or "")
    if missing:
        outcome.problems.append(CellProblem("kernel", missing))
        return
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            await _execute_once(node, plan, config, workdir, outcome, kernel)
            return
        except _KernelDidNotStart as failure:
            if attempt == START_ATTEMPTS:
                cause = failure.cause
                outcome.problems.append(CellProblem(
                    "kernel",
                    f"kernel {kernel!r} could not start: {type(cause).__name__}: {cause}",
                    detail=failure.log))
                return


def _missing_kernel(kernel: str, language: str) -> str | None:
    """What to do when a notebook names a kernel this machine lacks (an old ``python2``, a
    conda environment's kernel), else None: the advice ``nbprod run`` gives, with this
    plugin's option. Asked before starting, as jupyter_client logs a traceback of its own for
    a missing kernel, which the test's report would show."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from ..run.execute import kernel_dirs, no_such_kernel

    manager = KernelSpecManager(kernel_dirs=kernel_dirs())
    try:
        manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        return no_such_kernel(kernel, sorted(manager.find_kernel_specs()), language,
                              'pass --nbprod-kernel NAME, set kernel = "NAME" in'
                              " [tool.nbprod.test],")
    return None


class _KernelDidNotStart(Exception):
    def __init__(self, cause: BaseException, log: str = ""):
        super().__init__(str(cause))
        self.cause = cause
        self.log = log  # what the kernel process wrote before it went


class _StopsOnCtrlC:
    """Mixed into the client: Ctrl-C stops the test session, as pytest does in any test.

    nbclient answers SIGINT by shutting the kernel down under the running cell, which then
    fails with ``DeadKernelError`` (and a clean-up ``AssertionError``), and the session goes
    on. Here Ctrl-C cancels the notebook's run instead and records it (``interrupted``);
    ``_execute_once`` then kills the kernel and raises ``KeyboardInterrupt``, which pytest
    turns into its "KeyboardInterrupt" summary and exit status 2.
    """

    interrupted = False

    def catch_ctrl_c(self) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_ctrl_c() -> None:
            self.interrupted = True
            if task is not None:
                task.cancel()

        try:
            loop.add_signal_handler(signal.SIGINT, on_ctrl_c)  # replaces nbclient's
        except (RuntimeError, ValueError):
            pass  # not the main thread (or no signals here): pytest's own handling applies

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        # Called by ``async_setup_kernel`` right after it set its handler, before the kernel
        # starts: a Ctrl-C during start-up stops the session too (not a start-up retry).
        self.catch_ctrl_c()
        await super().async_start_new_kernel(**kwargs)  # type: ignore[misc]


def _client_class() -> type:
    """nbclient's client with nbprod's kernel lifecycle (``nbprod.run.kernel``): specs found
    without IPython, the kernel's whole process group killed at the end; Ctrl-C stops the
    session (``_StopsOnCtrlC``)."""
    # nbclient pulls in jupyter_client and zmq: imported here, never when pytest starts.
    from nbclient import NotebookClient

    from ..run.kernel import GroupKilledKernel

    return type("CheckingClient", (_StopsOnCtrlC, GroupKilledKernel, NotebookClient), {})


async def _execute_once(
    node: Any,
    plan: list[tuple[int, Cell | None]],
    config: TestConfig,
    workdir: Path,
    outcome: NotebookOutcome,
    kernel: str,
) -> None:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = _client_class()(
        node,
        timeout=config.timeout,
        startup_timeout=config.startup_timeout,
        kernel_name=kernel,
        allow_errors=True,  # errors are judged here, per cell, against the markers
        record_timing=False,
        # A graceful shutdown waits up to seconds for the kernel to exit; the test is over and
        # its state is thrown away, so the kernel is stopped at once.
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(workdir)}},
    )
    compare_mode = config.mode == "compare"
    started = False
    current: Cell | None = None  # the cell being executed, for timeout and dead-kernel reports
    # The kernel process's own stderr (its start-up warnings, a crash message; not what the
    # notebook prints, which arrives as outputs): kept apart, and shown when the kernel died
    # or did not start, rather than in every failing test's captured stderr.
    kernel_log = tempfile.TemporaryFile()
    try:
        async with client.async_setup_kernel(cwd=str(workdir), stdout=kernel_log,
                                             stderr=kernel_log):
            started = True
            client.remember_kernel()
            for position, cell in plan:
                if cell is None:  # the injected parameters, right after the parameters cell
                    injected = node["cells"][position]
                    await client.async_execute_cell(injected, position)
                    if _error_of(injected):
                        outcome.problems.append(
                            CellProblem("error", "the injected test parameters raised",
                                        detail=_error_of(injected) or "")
                        )
                        return
                    continue
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                marks = cell_marks(cell)
                if marks.skip:
                    outcome.skipped.append((cell, marks.reason))
                    continue
                current = cell
                running = node["cells"][position]
                await client.async_execute_cell(running, position)
                outcome.executed += 1
                error = _error_of(running)
                if error and not marks.raises:
                    outcome.problems.append(
                        CellProblem("error", _error_line(running), cell, error)
                    )
                    return  # later cells would only fail because this one did
                if marks.compares(compare_mode) and cell.execution_count is not None:
                    outcome.compared += 1
                    mismatch = compare_outputs(
                        cell.outputs,
                        running.get("outputs", []),
                        sanitizers=config.sanitizers,
                        rtol=config.rtol,
                        atol=config.atol,
                        images=config.images,
                    )
                    if mismatch:
                        outcome.problems.append(
                            CellProblem("mismatch", mismatch.reason, cell, mismatch.diff)
                        )
    except CellTimeoutError:
        outcome.problems.append(
            CellProblem(
                "timeout",
                f"timed out after {config.timeout} s; raise 'timeout' in [tool.nbprod.test]"
                " or pass --nbprod-timeout",
                current,
            )
        )
    except DeadKernelError:
        outcome.problems.append(CellProblem("kernel", "the kernel died", current,
                                            _last_lines(kernel_log)))
    except Exception as exc:
        if started:
            raise
        # nbclient registers its clean-up to run at exit before it starts the kernel, and
        # unregisters it only once the kernel is up: after a failed start it would run at
        # exit, on a client without a kernel manager, and print a traceback per attempt.
        atexit.unregister(client._cleanup_kernel)
        # Start-up failures (no such kernel, start-up timeout) are the machine's, not a cell's.
        raise _KernelDidNotStart(exc, _last_lines(kernel_log)) from None
    finally:
        if client.interrupted and client.kernel_pid is None:
            client.remember_kernel()  # Ctrl-C while the kernel was starting
        client.kill()  # and whatever the notebook started, even if the kernel exited
        kernel_log.close()
        if client.interrupted:
            # Whatever the cancelled cell or start-up turned into (nbclient reports a
            # cancelled cell as a dead kernel), the user stopped the session.
            atexit.unregister(client._cleanup_kernel)
            raise KeyboardInterrupt


def _last_lines(log: IO[bytes], count: int = 20) -> str:
    """The end of what the kernel process wrote, as the detail of a dead kernel."""
    log.seek(0)
    return "\n".join(log.read().decode("utf-8", "replace").splitlines()[-count:])


def _error_of(cell: Any) -> str | None:
    """The plain-text traceback of the cell's error output, if it raised."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            lines = output.get("traceback") or [f"{output.get('ename')}: {output.get('evalue')}"]
            return _ANSI.sub("", "\n".join(lines))
    return None


def _error_line(cell: Any) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            evalue = str(output.get("evalue", "")).strip().splitlines()
            return f"raised {output.get('ename')}" + (f": {evalue[0]}" if evalue else "")
    return "raised an exception"
