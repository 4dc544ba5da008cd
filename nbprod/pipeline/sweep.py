"""Parameter sweeps: many runs of one notebook, in parallel, one receipt per run.

Points come from ``-p NAME v1,v2`` lists combined as a grid (every combination) or zipped
(the i-th values together), or from a sweep file::

    # sweep.yaml
    notebook: train.ipynb        # optional when given on the command line
    mode: grid                   # or zip
    parameters:
      lr: [0.1, 0.01]
      depth: [3, 5]
    runs:                        # optional explicit points, added after the grid
      - {lr: 0.5, depth: 1}

Every point is checked against the notebook's parameters cell before anything runs. Runs
execute on an executor (workers never write the store); the client records each run (kind
``run``) under one sweep record (kind ``sweep``). A failed run is reported with its error and
the others go on.

Ctrl-C, SIGTERM or SIGHUP stop the whole sweep at once: the runs in flight are recorded as
``interrupted``, the runs not started yet are not started (status ``not_started``), and the
sweep's own record ends ``interrupted`` (``SweepResult.interrupted`` says why; exit code 3).

Secret parameters (a secret name such as ``api_token``, or a value the secret detectors
recognise) reach the runs' kernels only: the sweep's record, its points and its results
(``SweepRun.parameters`` and ``error``, which the CLI prints) show them as ``***``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, ParameterError
from ..fsutil import atomic_write
from ..notebook import loads, read_bytes
from ..params.redact import mask_known, redact_parameters, secret_values
from ..store import FINAL_STATUSES, Store
from ..store.hashing import hash_bytes
from .executors import Executor
from .schedule import Event, Job, Outcome, schedule
from .worker import StepTask, TaskResult, describe_error

__all__ = ["SweepFile", "SweepInterrupted", "SweepResult", "SweepRun", "expand",
           "load_sweep_file", "run_sweep"]

#: The keys of a sweep file, as the docs spell them (``max_parallel`` is accepted too).
_FILE_KEYS = ("notebook", "mode", "parameters", "runs", "max-parallel", "executor", "cluster")
#: The status of a run the sweep was stopped before it started.
NOT_STARTED = "not_started"
#: Run statuses where the machinery, not the notebook, failed (exit code 3).
_MACHINERY = ("error", "kernel_died", "timeout", "interrupted", NOT_STARTED)


@dataclass(frozen=True)
class SweepFile:
    """What a sweep YAML file says."""

    notebook: str | None = None
    mode: str | None = None
    parameters: dict[str, list[Any]] = field(default_factory=dict)
    runs: tuple[dict[str, Any], ...] = ()
    max_parallel: int | None = None
    executor: str | None = None
    cluster: str | None = None


@dataclass(frozen=True)
class SweepRun:
    """One point of the sweep and how its run ended: ``parameters`` as recorded and shown
    (secret values redacted to ``***``), ``error`` with the point's secret values masked."""

    index: int
    parameters: dict[str, Any]
    status: str = "pending"
    run_id: str | None = None
    records: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class SweepResult:
    """Every run of the sweep, in point order, and the sweep's own record in the store."""

    sweep_id: str
    notebook: str
    runs: tuple[SweepRun, ...]
    #: Why the sweep was stopped before its end (``SIGINT``, ``SIGTERM``...), else None.
    interrupted: str | None = None

    @property
    def failed(self) -> list[SweepRun]:
        return [r for r in self.runs if r.status != "succeeded"]

    @property
    def not_started(self) -> list[SweepRun]:
        return [r for r in self.runs if r.status == NOT_STARTED]

    @property
    def exit_code(self) -> int:
        """0 every run succeeded, 3 stopped or only the machinery failed, else 1."""
        if self.interrupted:
            return 3
        if not self.failed:
            return 0
        if all(r.status in _MACHINERY for r in self.failed):
            return 3
        return 1


class SweepInterrupted(KeyboardInterrupt):
    """Raised on the client when a signal stops the sweep (a ``KeyboardInterrupt``, so a run
    executing on this thread ends as ``interrupted``, as Ctrl-C ends ``nbprod run``)."""


class _StopSignals:
    """Ctrl-C, SIGTERM and SIGHUP stop the sweep, on the main thread only.

    The handler notes the signal and raises ``SweepInterrupted`` unless the client is in a
    ``held()`` section (preparing or recording a run), which raises it when it ends, so a
    run is never half recorded.
    """

    _SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self.reason: str | None = None
        self._holds = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for name in self._SIGNALS:
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        self.stop(signal.Signals(signum).name)
        if not self._holds:
            raise SweepInterrupted(self.reason)

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No interruption inside; a signal received meanwhile raises at the end."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
        if self.reason and not self._holds:
            raise SweepInterrupted(self.reason)


def expand(values: Mapping[str, Sequence[Any]], mode: str = "grid") -> list[dict[str, Any]]:
    """The points of a sweep: every combination (grid) or the i-th values together (zip).

    Raises
    ------
    ParameterError
        For zip lists of different lengths, an empty list, or an unknown mode.
    """
    names = list(values)
    for name in names:
        if len(values[name]) == 0:
            raise ParameterError(f"sweep parameter {name!r} has no values")
    if mode == "grid":
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(values[n] for n in names))]
    if mode == "zip":
        lengths = {n: len(values[n]) for n in names}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{n}: {k}" for n, k in lengths.items())
            raise ParameterError(
                f"--zip needs the same number of values for every parameter ({shown});"
                " use --grid for every combination")
        return [dict(zip(names, combo, strict=True))
                for combo in zip(*(values[n] for n in names), strict=True)]
    raise ParameterError(f"unknown sweep mode {mode!r}; use grid or zip")


def load_sweep_file(path: str | Path) -> SweepFile:
    """Read a sweep YAML file; every error names the file and quotes keys as written.

    Raises
    ------
    ConfigError
        When it is not YAML, not a mapping, has unknown keys, or values of the wrong shape
        (a mode other than grid or zip, an unknown executor...).
    """
    from ..config import suggest

    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such sweep file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a sweep file is a mapping (notebook, mode, parameters, runs)")
    written: dict[str, str] = {}  # max_parallel -> the key as the file writes it
    for key in data:
        text = str(key)
        name = text.replace("-", "_")
        if name not in {k.replace("-", "_") for k in _FILE_KEYS}:
            # Suggested in the file's own spelling: max_paralel -> max_parallel.
            known = [k.replace("-", "_") if "_" in text else k for k in _FILE_KEYS]
            raise ConfigError(f"{where}: unknown key {text!r}{suggest(text, known)};"
                              f" known keys: {', '.join(_FILE_KEYS)}")
        if name in written:
            raise ConfigError(f"{where}: {written[name]!r} and {text!r} are the same key;"
                              " keep one")
        written[name] = text
    values = {name: data[key] for name, key in written.items()}

    def text_value(name: str) -> str | None:
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {written[name]!r} must be text, got {value!r}")
        return value

    notebook, mode = text_value("notebook"), text_value("mode")
    executor, cluster = text_value("executor"), text_value("cluster")
    if mode is not None and mode not in ("grid", "zip"):
        raise ConfigError(f"{where}: {written['mode']!r} must be 'grid' or 'zip', got"
                          f" {mode!r}{suggest(mode, ['grid', 'zip'])}")
    if executor is not None:
        from .executors import executor_registry

        if executor not in executor_registry:
            try:
                executor_registry.get(executor)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {written['executor']!r}: {exc}") from None
    parameters = values.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ConfigError(f"{where}: 'parameters' must map each name to a list of values")
    parameters = {str(k): v if isinstance(v, list) else [v] for k, v in parameters.items()}
    runs = values.get("runs") or []
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ConfigError(f"{where}: 'runs' must be a list of mappings (one per run)")
    max_parallel = values.get("max_parallel")
    if max_parallel is not None and (not isinstance(max_parallel, int)
                                     or isinstance(max_parallel, bool) or max_parallel < 0):
        raise ConfigError(f"{where}: {written['max_parallel']!r} must be a whole number >= 0,"
                          f" got {max_parallel!r}")
    return SweepFile(notebook=notebook, mode=mode, parameters=parameters, runs=tuple(runs),
                     max_parallel=max_parallel, executor=executor, cluster=cluster)


def check_points(notebook_bytes: bytes, notebook: str, points: Sequence[Mapping[str, Any]],
                 *, texts: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every point checked and converted against the notebook's parameters cell.

    Raises
    ------
    ParameterError
        For an unknown name (with did-you-mean), a value of the wrong type, a required
        parameter without a value, naming the point.
    """
    from ..params.coerce import resolve, schema

    nb = loads(notebook_bytes, path=notebook)
    declared = schema(nb)
    checked = []
    for index, point in enumerate(points, start=1):
        checked.append(resolve(declared, dict(point), texts=texts,
                               where=f"{notebook} (sweep run {index})"))
    return checked


def run_sweep(
    notebook: Path,
    points: Sequence[Mapping[str, Any]],
    executor: Executor,
    *,
    root: Path,
    store: Store,
    max_parallel: int | None = None,
    timeout: float | None = None,
    kernel: str | None = None,
    on_event: Callable[[Event], None] = lambda event: None,
) -> SweepResult:
    """Run ``notebook`` once per point on ``executor``; record every run in ``store``.

    Parameters
    ----------
    notebook:
        The notebook (inside ``root``).
    points:
        Checked parameter values, one mapping per run (see ``check_points``).
    executor:
        Where runs execute.
    root:
        The project root.
    store:
        The project's run store; only this process writes it.

    Returns
    -------
    SweepResult
        One ``SweepRun`` per point, in order; failed runs carry their error.
    """
    root = Path(root).resolve()
    path = Path(notebook).resolve()
    relative = path.relative_to(root).as_posix()
    data = read_bytes(path)
    digest = hash_bytes(data)
    # The store redacts what it records; the results shown to the user are redacted here.
    public = [redact_parameters(p) for p in points]
    sweep = store.begin_run(relative, digest, {"points": [dict(p) for p in points]},
                            kind="sweep")
    started = _now()
    labels = [f"run-{i + 1}" for i in range(len(points))]
    by_label = dict(zip(labels, points, strict=True))
    stop = _StopSignals()
    settled: dict[str, Outcome] = {}
    in_flight: dict[str, str] = {}  # label -> when its task was handed to the executor
    me = f":{os.getpid()}"

    def prepare(label: str, done: Mapping[str, Outcome]) -> StepTask:
        with stop.held():
            task = StepTask(label, str(root), notebook=relative, notebook_bytes=data,
                            parameters=dict(by_label[label]), timeout=timeout, kernel=kernel)
            if stop.reason is None:  # else held() raises: the task is never handed over
                in_flight[label] = _now()
        return task

    def finish(label: str, result: TaskResult) -> Outcome:
        with stop.held():
            in_flight.pop(label, None)
            run_id = _record(store, result, relative, digest, by_label[label], sweep.run_id)
            records = (result.receipt or {}).get("records") or {}
            message = describe_error(result.error) if result.status != "succeeded" else ""
            status = (result.receipt or {}).get("status") or result.status
            outcome = Outcome(label, "succeeded" if result.status == "succeeded" else status,
                              message, run_id=run_id,
                              detail={"records": records, "duration_s": result.duration_s})
            settled[label] = outcome
            if status == "interrupted" and result.worker.endswith(me):
                # The run executed on this thread, whose signal handlers it replaced while
                # it ran: it was interrupted because this process was told to stop.
                stop.stop(_signal_named(message) or "the run in progress was interrupted")
        return outcome

    interrupted: str | None = None
    try:
        with stop, executor:
            outcomes = schedule([Job(label) for label in labels], executor, prepare, finish,
                                max_parallel=max_parallel or executor.parallelism,
                                on_event=on_event)
    except KeyboardInterrupt as exc:
        interrupted = stop.reason or str(exc) or "SIGINT"
        outcomes = dict(settled)
        for label in labels:
            if label in outcomes:
                continue
            if label in in_flight:
                run_id = _record_interrupted(store, relative, digest, by_label[label],
                                             sweep.run_id, in_flight[label], interrupted)
                outcomes[label] = Outcome(
                    label, "interrupted", f"the sweep was stopped while it ran ({interrupted})",
                    run_id=run_id)
            else:
                outcomes[label] = Outcome(
                    label, NOT_STARTED, f"the sweep was stopped before it started ({interrupted})")
    except BaseException as exc:  # a lost store, a broken executor: the sweep ends honestly
        store.finish_run(sweep.run_id, {
            "status": "interrupted", "kind": "sweep",
            "notebook": {"path": relative, "hash": digest},
            "parameters": {"points": public}, "timing": {"start": started, "end": _now()},
            "error": {"message": f"{type(exc).__name__}: {exc}"}})
        raise
    runs = tuple(
        SweepRun(index=i + 1, parameters=public[i], status=outcomes[label].status,
                 run_id=outcomes[label].run_id,
                 records=(outcomes[label].detail or {}).get("records", {}),
                 error=mask_known(outcomes[label].message, secret_values(points[i])) or None,
                 duration_s=(outcomes[label].detail or {}).get("duration_s"))
        for i, label in enumerate(labels)
    )
    result = SweepResult(sweep.run_id, relative, runs, interrupted=interrupted)
    if interrupted:
        status = "interrupted"
        error: dict[str, Any] | None = {"message": (
            f"the sweep was stopped ({interrupted}); {len(result.not_started)} of {len(runs)}"
            " runs not started")}
    elif result.failed:
        status = "failed"
        error = {"message": f"{len(result.failed)} of {len(runs)} runs did not succeed"}
    else:
        status, error = "succeeded", None
    store.finish_run(sweep.run_id, {
        "status": status,
        "kind": "sweep",
        "notebook": {"path": relative, "hash": digest},
        "parameters": {"points": public},
        "timing": {"start": started, "end": _now()},
        "sweep": {"runs": [{"index": r.index, "run_id": r.run_id, "status": r.status,
                            "parameters": r.parameters, "records": r.records, "error": r.error}
                           for r in runs]},
        "error": error,
    })
    return result


def _signal_named(message: str) -> str | None:
    """The signal a run's error names (``the runner received SIGTERM``), if any."""
    for name in _StopSignals._SIGNALS:
        if name in message:
            return name
    return None


def _record_interrupted(store: Store, notebook: str, digest: str, parameters: Mapping[str, Any],
                        parent: str, start: str, why: str) -> str:
    """Record a run that was in flight when the sweep was stopped (its worker never reported)."""
    handle = store.begin_run(notebook, digest, dict(parameters), kind="run", parent=parent)
    store.finish_run(handle.run_id, {
        "status": "interrupted", "kind": "run", "parent": parent,
        "notebook": {"path": notebook, "hash": digest},
        "timing": {"start": start, "end": _now()},
        "error": {"message": f"the sweep was stopped while this run ran ({why})"},
    })
    return handle.run_id


def _record(store: Store, result: TaskResult, notebook: str, digest: str,
            parameters: Mapping[str, Any], parent: str) -> str:
    """Record a worker's run in the project store, as if it had run here (started when it
    started there)."""
    started = ((result.receipt or {}).get("timing") or {}).get("start")
    handle = store.begin_run(notebook, digest, dict(parameters), kind="run", parent=parent,
                             started=started if isinstance(started, str) else None)
    if result.output_notebook is not None:
        atomic_write(handle.run_dir / "output.ipynb", result.output_notebook)
    for data in result.objects.values():
        store.put_bytes(data)  # the objects the worker's receipt names, now in this store
    receipt = dict(result.receipt or {})
    receipt.update(kind="run", parent=parent, worker=result.worker)
    receipt.setdefault("notebook", {"path": notebook, "hash": digest})
    receipt.setdefault("parameters", dict(parameters))
    if receipt.get("status") not in FINAL_STATUSES:
        # No receipt came back: the worker or its kernel could not run the notebook at all.
        receipt["status"] = "interrupted" if result.status == "error" else "failed"
        receipt["error"] = result.error
    store.finish_run(handle.run_id, receipt)
    return handle.run_id


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
