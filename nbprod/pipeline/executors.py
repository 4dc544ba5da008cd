"""Where tasks run: the executor protocol, the built-ins and their registry.

* ``local`` (the default, nothing to set up): in this process, one task at a time, when the
  parallelism is 1; otherwise notebook runs on threads of this process (each run's kernel is
  its own process) and function steps on a Dask ``LocalCluster`` of worker processes, every
  listener bound to 127.0.0.1, started only when a function step needs it.
* ``dask``: an existing Dask distributed cluster, given by its scheduler address.

Dask re-runs the task of a worker that died (up to ``distributed.scheduler.allowed-failures``
times); a step that raises comes back as a failed result instead of an exception, so Dask never
retries a deterministic failure. Third parties add executors under the ``nbprod.executors``
entry-point group: a callable taking the keyword arguments of ``ExecutorFactory``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from typing import Any, ClassVar, Protocol

from ..errors import ConfigError, InfrastructureError, MissingDependencyError
from ..registry import Registry
from ..syntax import guard_parsing
from .worker import StepTask, TaskResult, run_task

__all__ = ["DaskExecutor", "Executor", "ExecutorFactory", "LocalExecutor", "SerialExecutor",
           "executor_registry"]

RunTask = Callable[[StepTask], TaskResult]
CONNECT_TIMEOUT_S = 10
UNBOUNDED = 1 << 30
#: Local runs in flight per CPU core by default: a notebook run mostly waits on its kernel, so
#: two per core keep the cores busy (16 runs of a 2 s notebook on 2 cores: 2 in flight 31.6 s,
#: 4 in flight 22.1 s; bench/sweep).
RUNS_PER_CORE = 2
_ADDRESS = re.compile(r"(tcp|tls)://[^\s/]+:\d+")


class Executor(Protocol):
    """A context manager that runs tasks: ``submit`` one, ``wait_any`` for some to finish."""

    name: ClassVar[str]
    parallelism: int
    shares_disk: bool  # whether workers see the client's project folder

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def submit(self, task: StepTask) -> Any: ...

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]: ...


class ExecutorFactory(Protocol):
    """What the registry holds: builds an executor from the command-line/config options."""

    def __call__(self, *, max_parallel: int, cluster: str | None, retries: int,
                 run: RunTask = run_task) -> Executor: ...


class SerialExecutor:
    """Runs each task in this process when it is submitted: no cluster, no pickling."""

    name: ClassVar[str] = "serial"
    parallelism = 1
    shares_disk = True  # tasks run in this process, on the project's own files

    def __init__(self, run: RunTask = run_task):
        self._run = run
        self._results: dict[int, TaskResult] = {}
        self._next = 0

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._results.clear()

    def submit(self, task: StepTask) -> int:
        self._next += 1
        try:
            self._results[self._next] = self._run(task)
        except Exception as exc:  # run_task reports step failures itself; this is the machinery
            self._results[self._next] = TaskResult(
                task.name, "error", error={"message": f"{type(exc).__name__}: {exc}"})
        return self._next

    def wait_any(self, handles: Sequence[int]) -> list[tuple[int, TaskResult]]:
        return [(handles[0], self._results.pop(handles[0]))]


class DaskExecutor:
    """Submits tasks to a Dask distributed client (an existing cluster or a LocalCluster).

    ``pure=False`` keeps identical submissions (a sweep that repeats a point) from being merged
    into one; ``retries`` covers a task whose worker died.
    """

    name: ClassVar[str] = "dask"
    #: Workers may be other machines: each task carries the files it needs.
    shares_disk = False

    def __init__(self, *, max_parallel: int = 0, cluster: str | None = None, retries: int = 2,
                 run: RunTask = run_task):
        if not cluster:
            raise ConfigError(
                "the dask executor needs a scheduler address: --cluster tcp://HOST:PORT"
                " (or cluster = \"...\" in [tool.nbprod.pipeline])")
        if not _ADDRESS.fullmatch(cluster):
            raise ConfigError(
                f"{cluster!r} is not a Dask scheduler address; use tcp://HOST:PORT"
                " (or tls://HOST:PORT)")
        self.address = cluster
        self.retries = retries
        # Without a limit every ready task is submitted and the scheduler queues them.
        self.parallelism = max_parallel or UNBOUNDED
        self._run = run
        self.client: Any = None

    def __enter__(self) -> DaskExecutor:
        return self

    def _connect(self) -> None:
        distributed = _distributed()
        try:
            self.client = distributed.Client(self.address, timeout=CONNECT_TIMEOUT_S,
                                             set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InfrastructureError(
                f"cannot reach the Dask scheduler at {self.address}: {exc}; is it running?"
            ) from None

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def submit(self, task: StepTask) -> Any:
        # Connected on the first task: a run where every step is cached never needs a cluster.
        if self.client is None:
            self._connect()
        key = f"nbprod-{task.name}-{uuid.uuid4().hex[:8]}"
        return self.client.submit(self._run, task, key=key, pure=False, retries=self.retries)

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        distributed = _distributed()
        with self.client.as_current():  # wait() looks up the client of the current context
            finished = distributed.wait(list(handles), return_when="FIRST_COMPLETED").done
        results = []
        for future in finished:
            try:
                result = future.result()
            except Exception as exc:  # KilledWorker, a lost connection: the machinery failed
                name = str(future.key).removeprefix("nbprod-").rsplit("-", 1)[0]
                result = TaskResult(name, "error", error={
                    "ename": type(exc).__name__,
                    "message": f"the task failed on the cluster: {type(exc).__name__}: {exc}"})
            results.append((future, result))
        return results


class LocalExecutor:
    """The default: serial for a parallelism of 1, else threads in this process.

    A notebook run spends its time in its own kernel process; the client side (papermill,
    nbclient) mostly waits on the kernel's sockets. So notebook tasks run on a pool of threads
    here: no worker processes to start, no second copy of papermill/nbformat to import, and a
    crashing kernel still fails only its own run. Function steps run Python code in the
    calling process (``os.chdir``, captured stdout, ``sys.modules``), which is not safe to
    share between threads, so they go to a Dask ``LocalCluster`` of worker processes on
    127.0.0.1, started only when the first function step is submitted.
    """

    name: ClassVar[str] = "local"
    shares_disk = True  # threads here, or a LocalCluster on this machine

    def __init__(self, *, max_parallel: int = 0, cluster: str | None = None, retries: int = 2,
                 run: RunTask = run_task):
        self.parallelism = max_parallel or self.default_parallelism()
        self.retries = retries
        self._run = run
        self._serial = SerialExecutor(run) if self.parallelism == 1 else None
        self._threads: _ThreadPool | None = None
        self._processes: DaskExecutor | None = None
        self._cluster: Any = None
        self._lock = threading.Lock()
        del cluster  # a local executor starts its own

    @staticmethod
    def default_parallelism() -> int:
        """The runs in flight when none is asked for: ``RUNS_PER_CORE`` per CPU core."""
        return RUNS_PER_CORE * (os.cpu_count() or 1)

    @property
    def client(self) -> Any:
        """The Dask client of the function-step cluster (None until one is needed)."""
        return self._processes.client if self._processes is not None else None

    def __enter__(self) -> LocalExecutor:
        if self._serial is None:
            self._threads = _ThreadPool(self.parallelism)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._threads is not None:
            self._threads.close()
            self._threads = None
        if self._processes is not None:
            self._processes.__exit__()
            self._processes = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def submit(self, task: StepTask) -> Any:
        if self._serial is not None:
            return self._serial.submit(task)
        assert self._threads is not None, "submit() outside of `with executor:`"
        if task.function:
            # A pool thread waits on the cluster, so every handle is a thread-pool future.
            return self._threads.submit(self._on_cluster, task)
        return self._threads.submit(self._run, task)

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        if self._serial is not None:
            return self._serial.wait_any(handles)
        finished = futures.wait(list(handles), return_when=futures.FIRST_COMPLETED).done
        results = []
        for future in finished:
            error = future.exception()
            if error is None:
                results.append((future, future.result()))
                continue
            # run_task reports step failures itself; this is the machinery failing.
            results.append((future, TaskResult(future.task_name, "error", error={
                "ename": type(error).__name__,
                "message": f"the task failed: {type(error).__name__}: {error}"})))
        return results

    def _on_cluster(self, task: StepTask) -> TaskResult:
        """Run a function step on the LocalCluster (started by the first one to need it)."""
        with self._lock:
            if self._processes is None:
                self._start_cluster()
        assert self._processes is not None
        future = self._processes.submit(task)
        [(_, result)] = self._processes.wait_any([future])
        return result

    def _start_cluster(self) -> None:
        distributed = _distributed()
        # Processes, not threads: function steps change the working directory and capture
        # stdout, and a crashing step must not take the client down. A function step keeps its
        # process busy (no kernel to wait on), so no more processes than cores; extra tasks
        # queue on the scheduler. Loopback only.
        workers = min(self.parallelism, os.cpu_count() or 1)
        try:
            with _ctrl_c_blocked():
                self._cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    worker_dashboard_address=None, silence_logs=logging.ERROR,
                    memory_limit=0,
                )
        except (OSError, TimeoutError) as exc:
            raise InfrastructureError(
                f"could not start a local Dask cluster of {workers} workers: {exc};"
                " retry, or run one step at a time with --max-parallel 1") from None
        processes = DaskExecutor(cluster=self._cluster.scheduler_address, retries=self.retries,
                                 run=self._run)
        processes.client = distributed.Client(self._cluster, set_as_default=False)
        self._processes = processes


@contextlib.contextmanager
def _ctrl_c_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread while it starts the local cluster.

    A Ctrl-C in a terminal reaches the whole foreground process group, the cluster's worker
    processes included: each would print a ``KeyboardInterrupt`` traceback of its own, and
    die under the client that is stopping it anyway. A signal mask is inherited by the
    threads a thread starts (the cluster's event loop, whose nannies start the workers) and
    by the processes they start, across ``exec``; so the workers never see Ctrl-C, and are
    stopped by this process when it closes the cluster (or exit when it dies). Signals are
    handled in the main thread, which keeps its mask.

    multiprocessing's resource tracker, which the first worker start would launch, unblocks
    SIGINT in the thread launching it: it is launched here first, before the mask is set.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process groups to share
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _ThreadPool:
    """A fixed set of daemon threads running submitted calls.

    Daemon threads (unlike ``concurrent.futures.ThreadPoolExecutor``'s) let Ctrl-C end the
    command without waiting for the notebooks in flight; their kernels notice that their parent
    went away and exit. The threads live as long as the pool, so each keeps the one asyncio
    event loop jupyter_client creates per thread instead of leaking one per run.
    """

    def __init__(self, size: int):
        guard_parsing()  # the runs parse Python on several threads at once
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._queued: set[futures.Future] = set()  # not started yet: cancelled by close()
        self._threads = [threading.Thread(target=self._work, name=f"nbprod-local-{i + 1}",
                                          daemon=True) for i in range(size)]
        for thread in self._threads:
            thread.start()

    def submit(self, call: RunTask, task: StepTask) -> futures.Future:
        future: futures.Future = futures.Future()
        future.task_name = task.name  # type: ignore[attr-defined]
        self._queued.add(future)
        self._queue.put((future, call, task))
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call, task = item
            self._queued.discard(future)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call(task))
            except BaseException as exc:  # reported as the task's error by wait_any
                future.set_exception(exc)

    def close(self) -> None:
        """Drop the tasks not started yet (after an error or Ctrl-C), let the threads finish
        their current task and stop; do not wait for them."""
        for future in list(self._queued):
            future.cancel()  # a no-op for one a thread has just taken
        for _ in self._threads:
            self._queue.put(None)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError("dask[distributed]", "dask", "running in parallel") from None
    return distributed


executor_registry: Registry[ExecutorFactory] = Registry("executor", "nbprod.executors")
executor_registry.register("local", LocalExecutor)
executor_registry.register("dask", DaskExecutor)
