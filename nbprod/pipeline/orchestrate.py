"""Run a planned pipeline: cache lookups, tasks for the executor, and the store, all on the
client.

For each step, in dependency order: compute its cache key; if a previous successful run of
the step has the same key (and its outputs are still in the store), restore its outputs and
skip it; otherwise send a task to the executor and, when the result comes back, record the
step as a run of kind ``step`` linked to the pipeline run (kind ``pipeline``). Workers never
touch the store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InfrastructureError, PipelineError
from ..fsutil import atomic_write, resolve_inside
from ..store import RunHandle, Store
from ..store.hashing import hash_bytes
from .build import PipelineSource
from .cache import (
    MISSING,
    KeyParts,
    code_hash_of_function,
    code_hash_of_notebook,
    environment_fingerprint,
    explain,
    hash_json,
    parameters_hash,
)
from .config import ModelConfig
from .executors import Executor
from .plan import Plan
from .reach import WHOLE, local_module_finder, reached_code, runs_processes
from .schedule import Event, Job, Outcome, schedule
from .worker import StepTask, TaskResult, describe_error

__all__ = ["PipelineResult", "PipelineRunner", "StepState", "run_pipeline"]

#: How many past step runs of one notebook the cache looks through.
HISTORY_LIMIT = 500
#: The pseudo-module name of a notebook step's code cells, for reach.
NOTEBOOK_CODE = "<notebook>"


@dataclass(frozen=True)
class StepState:
    """Whether a step is cached now, and if not, why it would run."""

    name: str
    parts: KeyParts
    reason: str | None  # None: cached
    cached_run: str | None = None

    @property
    def cached(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class PipelineResult:
    """How a pipeline run ended: one outcome per considered step, and the pipeline's run id."""

    pipeline: str
    run_id: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes.values())

    @property
    def exit_code(self) -> int:
        """0 all succeeded or cached, 3 the machinery failed somewhere, else 1."""
        if self.ok:
            return 0
        if any(o.status == "error" for o in self.outcomes.values()):
            return 3
        return 1


class PipelineRunner:
    """Cache-aware runs and status of one planned pipeline in one project store.

    Parameters
    ----------
    plan:
        The checked plan.
    source:
        The pipeline and the generated module sources its function steps call.
    root:
        The project root.
    store:
        The project's run store (only this client writes it).
    timeout, kernel:
        Passed to each notebook step.
    models:
        ``[tool.nbprod.pipeline.models]``: step return values kept as models in the receipt
        of the step that returned them.

    Raises
    ------
    ConfigError
        When a model names a value no step returns.
    """

    def __init__(self, plan: Plan, source: PipelineSource, *, root: Path, store: Store,
                 timeout: float | None = None, kernel: str | None = None,
                 pinned: Iterable[str] = (), models: Mapping[str, ModelConfig] | None = None):
        self.plan = plan
        self.pinned = frozenset(pinned)
        self.models = dict(models or {})
        _check_models(self.models, plan)
        self.modules = dict(source.modules)
        self.root = Path(root).resolve()
        self._finders: dict[Path | None, Callable[[str], Any]] = {}
        self.store = store
        self.timeout = timeout
        self.kernel = kernel
        self._notebooks: dict[str, bytes] = {}
        self._history: dict[str, list[dict]] = {}
        self._values: dict[str, dict[str, Any]] = {}
        self._cached_receipts: dict[str, dict] = {}
        self._keys: dict[str, str] = {}
        self._code: dict[str, str] = {}
        self._run_id: str | None = None
        self._in_flight: dict[str, str] = {}  # step -> when its task was handed to a worker
        self._given: frozenset[str] = frozenset()  # the parameters this run was given (-p)
        self._send_known_inputs = False  # set by run(): only for workers off this disk

    # -- status -----------------------------------------------------------------------------

    def status(self, *, force: bool = False) -> dict[str, StepState]:
        """The state of every step of the plan, in order, without running anything."""
        keys: dict[str, str] = {}
        rerunning: dict[str, str] = {}
        states: dict[str, StepState] = {}
        for name in self.plan.order:
            state = self._state(name, keys, rerunning)
            if force and name in self.plan.selected:
                state = replace(state, reason="forced (--force)", cached_run=None)
            if not state.cached:
                rerunning[name] = state.reason or ""
            keys[name] = state.parts.key
            states[name] = state
        return states

    # -- running ----------------------------------------------------------------------------

    def run(self, executor: Executor, *, force: bool = False, max_parallel: int | None = None,
            parameters: Mapping[str, Any] | None = None,
            on_event: Callable[[Event], None] = lambda event: None) -> PipelineResult:
        """Run the selected steps (and restore the cached ones they need).

        Raises
        ------
        PipelineError
            Before anything runs, when ``--only``/``--from`` left out an upstream step that is
            not cached.
        """
        self._send_known_inputs = not getattr(executor, "shares_disk", False)
        states = self.status(force=force)
        selected = set(self.plan.selected)
        needed = self._needed_upstream(selected)
        for name in needed:
            if not states[name].cached:
                users = sorted(n for n in selected if name in self.plan.upstream[n])
                raise PipelineError(
                    f"step {users[0]!r} needs step {name!r}, which is not selected and has no"
                    f" cached run ({states[name].reason}); run it too (drop --only/--from)"
                )
        considered = [n for n in self.plan.order if n in selected or n in needed]
        # Steps left out keep their current keys: the keys of the steps after them chain on.
        self._keys = {n: s.parts.key for n, s in states.items() if n not in considered}
        jobs = [Job(n, tuple(u for u in self.plan.upstream[n] if u in considered))
                for n in considered]
        recorded = self.plan.typed(parameters or {})
        self._given = frozenset(recorded)
        handle = self.store.begin_run(
            self.plan.pipeline.source or "pyproject.toml",
            hash_json(self.plan.pipeline.to_dict()), recorded, kind="pipeline")
        self._run_id = handle.run_id
        started = _now()

        def prepare(name: str, done: Mapping[str, Outcome]) -> StepTask | Outcome:
            forced = force and name in selected
            state = self._state(name, self._keys, {})
            if state.cached and not forced:
                self._restore(name, state.cached_run)
                self._keys[name] = state.parts.key
                return Outcome(name, "cached", f"cached (run {state.cached_run})",
                               run_id=state.cached_run)
            self._keys[name] = state.parts.key
            task = self._task(name)
            self._in_flight[name] = _now()
            return task

        from ..run.execute import RunnerInterrupted, signals_interrupt

        try:
            with executor, signals_interrupt():
                outcomes = schedule(
                    jobs, executor, prepare, self._finish,
                    max_parallel=max_parallel or executor.parallelism, on_event=on_event)
        except BaseException as exc:  # Ctrl-C, a lost store: the pipeline run ends honestly
            why = str(exc) or type(exc).__name__
            running = sorted(self._in_flight)
            for name in running:
                self._record_interrupted(name, why)
            self.store.finish_run(handle.run_id, {
                "status": "interrupted", "kind": "pipeline", "timing": _timing(started),
                "parameters": recorded,
                "error": {"message": f"{type(exc).__name__}: {exc}"}})
            if isinstance(exc, KeyboardInterrupt):
                steps = (f"; step{'s' if len(running) > 1 else ''} {', '.join(running)}"
                         " recorded as interrupted" if running else "")
                raise InfrastructureError(
                    f"pipeline {self.plan.pipeline.name!r} interrupted"
                    f" ({why if isinstance(exc, RunnerInterrupted) else 'Ctrl-C'}){steps};"
                    " run it again: the steps that finished are cached") from None
            raise
        result = PipelineResult(self.plan.pipeline.name, handle.run_id, outcomes)
        self.store.finish_run(handle.run_id, {
            "status": "succeeded" if result.ok else "failed",
            "kind": "pipeline",
            "notebook": {"path": self.plan.pipeline.source, "hash": None},
            "parameters": recorded,
            "timing": _timing(started),
            "pipeline": {"name": self.plan.pipeline.name, "steps": {
                n: {"status": o.status, "run_id": o.run_id, "message": o.message,
                    "upstream": list(self.plan.upstream.get(n, ()))}
                for n, o in outcomes.items()}},
            "error": None if result.ok else {"message": _failure_summary(outcomes)},
        })
        return result

    def _needed_upstream(self, selected: set[str]) -> set[str]:
        """Steps outside the selection whose outputs selected steps read."""
        return {u for n in selected for u in self.plan.upstream[n] if u not in selected}

    # -- keys -------------------------------------------------------------------------------

    def _state(self, name: str, keys: Mapping[str, str],
               rerunning: Mapping[str, str]) -> StepState:
        history = self._step_history(name)
        latest = history[0] if history else None
        read_from = self._read_from(name, latest)
        upstream = [*self.plan.upstream[name], *read_from]
        parts = KeyParts(
            code=self._code_hash(name),
            parameters=self._parameters_hash(name),
            inputs=self._input_hashes(name, latest),
            upstream={u: keys[u] for u in upstream if u in keys},
            environment=environment_fingerprint(),
            reached=self._reached_code(name),
        )
        waiting = [u for u in upstream if u in rerunning]
        if waiting:  # its upstream key is not known before that step has run
            if waiting[0] in read_from:
                path = read_from[waiting[0]]
                return StepState(name, parts, f"it read {path}, which step {waiting[0]!r}"
                                              f" writes and will run again (declare inputs ="
                                              f" [{path!r}] so that it always runs after it)")
            return StepState(name, parts, f"upstream step {waiting[0]!r} will run")
        opaque = None if name in self.pinned else self._opaque(name, latest)
        for receipt in history:
            if opaque is None and receipt["cache"].get("key") == parts.key \
                    and self._restorable(receipt):
                return StepState(name, parts, None, receipt["run_id"])
        if opaque is not None and latest is not None:
            return StepState(name, parts, f"its inputs cannot all be known: {opaque}; declare"
                                          f" them, or pin the step (pinned = [{name!r}] in"
                                          " [tool.nbprod.pipeline]) to cache it by its key")
        reason = explain(parts, latest["cache"] if latest else None, rerunning)
        if reason is None:  # same key, but its outputs are gone from the store
            reason = "outputs of the cached run are missing from the store"
        return StepState(name, parts, reason)

    def _opaque(self, name: str, latest: dict | None) -> str | None:
        """Why the step may read files nbprod cannot see, or None.

        A notebook step is judged by its code (shell lines, ``%%bash``, ``subprocess``,
        ``os.system``); a function step by what its last run did (the worker saw it start a
        process).
        """
        step = self.plan.step(name)
        if step.notebook:
            cells = json.loads(self._notebook_bytes(step.notebook)).get("cells", [])
            return runs_processes(
                _source(c) for c in cells if c.get("cell_type") == "code")
        return ((latest or {}).get("cache") or {}).get("opaque")

    def _code_hash(self, name: str) -> str:
        if name not in self._code:
            step = self.plan.step(name)
            if step.notebook:
                # Plain JSON is enough to read code cells; full validation happened in build.
                self._code[name] = code_hash_of_notebook(
                    json.loads(self._notebook_bytes(step.notebook)))
            else:
                module, _, function = (step.function or "").partition(":")
                siblings = {s.function.partition(":")[2] for s in self.plan.pipeline.steps
                            if s.function and s.function.partition(":")[0] == module}
                self._code[name] = code_hash_of_function(
                    self._module_source(module), function, siblings)
        return self._code[name]

    def _parameters_hash(self, name: str) -> str:
        """The step's effective parameters (after ``-p`` and type conversion), hashed; secret
        ones under this machine's salt (``parameters_hash``)."""
        from ..params.redact import secret_parameters

        values = self.plan.parameters[name]
        return parameters_hash(values, secret_parameters(values))

    def _reached_code(self, name: str) -> dict[str, str]:
        """The hash of every project definition the step's code reaches through imports.

        A notebook step starts from its code cells; a function step from its function, whose
        own module ``_code_hash`` already covers (function by function).
        """
        step = self.plan.step(name)
        if step.notebook:
            own = NOTEBOOK_CODE
            cells = json.loads(self._notebook_bytes(step.notebook)).get("cells", [])
            code = "\n".join(_source(c) for c in cells if c.get("cell_type") == "code")
            # Its kernel runs in the notebook's folder, where its imports look first.
            find = self._module_finder((self.root / step.notebook).parent)
            reached = reached_code([(own, WHOLE)], find, extra={own: code})
        else:
            own, _, function = (step.function or "").partition(":")
            self._module_source(own)
            source = self.plan.pipeline.source
            find = self._module_finder((self.root / source).parent if source else None)
            reached = reached_code([(own, function)], find)
        return {where: hash_bytes(code.encode("utf-8"))
                for where, code in sorted(reached.items()) if not where.startswith(own + ":")}

    def _module_finder(self, folder: Path | None) -> Callable[[str], Any]:
        """Finds the project modules a step imports, in ``folder`` (where the step runs)
        first; one per folder, each remembering what it read."""
        if folder not in self._finders:
            self._finders[folder] = local_module_finder(self.root, self.modules, first=folder)
        return self._finders[folder]

    def _module_source(self, module: str) -> str:
        if module not in self.modules:
            candidates = [self.root / (module.replace(".", "/") + ".py"),
                          self.root / "src" / (module.replace(".", "/") + ".py")]
            for path in candidates:
                if path.is_file():
                    self.modules[module] = path.read_text(encoding="utf-8")
                    break
            else:
                raise PipelineError(
                    f"cannot find the step module {module!r} under {self.root}; run"
                    " `nbprod export` on the notebook, or run the pipeline from the notebook")
        return self.modules[module]

    def _read_from(self, name: str, latest: dict | None) -> dict[str, str]:
        """Earlier steps (in the plan's order) whose outputs the step's last run read without
        declaring them, each with one such file: the step's key covers theirs, as it does
        its declared upstream steps'."""
        if latest is None:
            return {}
        earlier = self.plan.order[:self.plan.order.index(name)]
        writers = {path: s.name for s in self.plan.pipeline.steps if s.name in earlier
                   for path in s.outputs}
        found: dict[str, str] = {}
        for entry in latest.get("data") or []:
            if not isinstance(entry, dict) or entry.get("role") != "input":
                continue
            writer = writers.get(entry.get("path"))
            if writer is not None and writer not in self.plan.upstream[name]:
                found.setdefault(writer, entry["path"])
        return found

    def _input_hashes(self, name: str, latest: dict | None) -> dict[str, str]:
        step = self.plan.step(name)
        produced = {p for s in self.plan.pipeline.steps for p in s.outputs}
        paths = [p for p in step.inputs if p not in produced]
        if latest:
            captured = [entry.get("path") for entry in latest.get("data") or []
                        if isinstance(entry, dict) and entry.get("role") == "input"]
            paths += [p for p in captured if isinstance(p, str) and p not in produced
                      and p != step.notebook and p not in step.outputs]
        return {path: self._hash_path(path) for path in sorted(set(paths))}

    def _hash_path(self, relative: str) -> str:
        """The content hash of a project file, or of a folder: every file in it by its
        path, so adding, removing or editing any of them changes it."""
        try:
            path = resolve_inside(self.root, relative)
        except Exception:
            return MISSING
        if path.is_dir():
            return hash_json({rel: self.store.hash_file(self.root / rel)[0]
                              for rel in _files_in(path, self.root)})
        if not path.is_file():
            return MISSING
        return self.store.hash_file(path)[0]

    def _data_entry(self, relative: str, role: str) -> dict[str, Any]:
        """A receipt ``data`` entry for a file a function step read or wrote."""
        digest = self._hash_path(relative)
        path = self.root / relative
        return {"path": relative, "role": role,
                "hash": None if digest == MISSING else digest,
                "bytes": path.stat().st_size if path.is_file() else None}

    def _step_history(self, name: str) -> list[dict]:
        """Receipts of the step's successful runs in this pipeline, newest first."""
        step = self.plan.step(name)
        notebook = step.notebook or self.plan.pipeline.source or "pyproject.toml"
        if notebook not in self._history:
            receipts = []
            for summary in self.store.list_runs(notebook=notebook, kind="step",
                                                status="succeeded", limit=HISTORY_LIMIT):
                receipt = self.store.read_receipt(summary["run_id"])
                if receipt and isinstance(receipt.get("cache"), dict):
                    receipts.append(receipt)
            self._history[notebook] = receipts
        return [r for r in self._history[notebook]
                if (r.get("pipeline") or {}).get("name") == self.plan.pipeline.name
                and (r.get("pipeline") or {}).get("step") == name]

    def _restorable(self, receipt: dict) -> bool:
        info = receipt.get("pipeline") or {}
        digests = [*info.get("outputs", {}).values(), *info.get("values", {}).values()]
        return all(self.store.objects.exists(d) for d in digests)

    # -- tasks and results ------------------------------------------------------------------

    def _task(self, name: str) -> StepTask:
        step = self.plan.step(name)
        params = dict(self.plan.parameters[name])
        inputs = self._inputs_to_send(name)
        if step.notebook:
            data = self._notebook_bytes(step.notebook)
            return StepTask(name, str(self.root), notebook=step.notebook, notebook_bytes=data,
                            parameters=params, outputs=step.outputs, input_files=inputs,
                            timeout=self.timeout, kernel=self.kernel)
        args = {arg: self._value(producer, arg)
                for arg, producer in self.plan.producers[name].items()}
        module = (step.function or "").partition(":")[0]
        self._module_source(module)
        source = self.plan.pipeline.source
        cwd = str((self.root / source).parent) if source else None
        return StepTask(name, str(self.root), function=step.function, modules=self.modules,
                        parameters=params, args=args, returns=step.returns, cwd=cwd,
                        input_files=inputs)

    def _inputs_to_send(self, name: str) -> dict[str, bytes]:
        """The project files a step's worker needs, by path relative to the project root.

        Declared inputs always travel (a notebook step off the project's disk runs in a copy
        of it). For workers that may not share this disk, so do the files the step's last run
        was seen reading and the files its parameters name (``data_path = "../data/x.csv"``):
        a worker without the project gets everything the step is known to read.
        """
        step = self.plan.step(name)
        wanted = list(step.inputs)  # upstream outputs too: they are on this disk by now
        if self._send_known_inputs:
            history = self._step_history(name)
            if history:
                wanted += [e.get("path") for e in history[0].get("data") or []
                           if isinstance(e, dict) and e.get("role") == "input"]
            folder = (self.root / (step.notebook or self.plan.pipeline.source or "x")).parent
            for value in self.plan.parameters[name].values():
                if isinstance(value, str) and value and len(value) < 4096:
                    wanted += [_relative_file(base / value, self.root)
                               for base in (folder, self.root)]
        files = {}
        for relative in dict.fromkeys(w for w in wanted if isinstance(w, str) and w):
            try:
                path = resolve_inside(self.root, relative)
            except Exception:  # outside the project: never sent
                continue
            if path.is_file():
                files[relative] = path.read_bytes()
            elif path.is_dir():  # a declared folder travels whole
                files.update({rel: (self.root / rel).read_bytes()
                              for rel in _files_in(path, self.root)})
        return files

    def _notebook_bytes(self, relative: str) -> bytes:
        if relative not in self._notebooks:
            self._notebooks[relative] = (self.root / relative).read_bytes()
        return self._notebooks[relative]

    def _value(self, producer: str, name: str) -> Any:
        if producer not in self._values:
            receipt = self._cached_receipts[producer]
            digests = receipt["pipeline"].get("values", {})
            self._values[producer] = {
                key: pickle.loads(self.store.objects.path_for(digest).read_bytes())
                for key, digest in digests.items()
            }
        return self._values[producer][name]

    def _restore(self, name: str, run_id: str | None) -> None:
        """Put a cached step's output files back where they belong, when they differ."""
        receipt = self.store.get_run(run_id or "")
        self._cached_receipts[name] = receipt
        for relative, digest in (receipt.get("pipeline") or {}).get("outputs", {}).items():
            if self._hash_path(relative) != digest:
                target = resolve_inside(self.root, relative)
                atomic_write(target, self.store.objects.path_for(digest).read_bytes())

    def _begin_step_run(self, name: str, started: str | None) -> tuple[RunHandle, str, str]:
        """Begin the store's record of one run of step ``name``, which started at
        ``started`` (recorded once it has ended): (its handle, the notebook it is recorded
        under, the hash of its code)."""
        step = self.plan.step(name)
        notebook = step.notebook or self.plan.pipeline.source or "pyproject.toml"
        code_hash = (hash_bytes(self._notebook_bytes(step.notebook)) if step.notebook
                     else self._code_hash(name))
        handle = self.store.begin_run(notebook, code_hash, _jsonable(self.plan.parameters[name]),
                                      kind="step", parent=self._run_id, started=started)
        return handle, notebook, code_hash

    def _defaults(self, name: str) -> list[str]:
        """The parameters a function step of a notebook's pipeline took at the notebook's
        defaults (not given with -p): ``runs show`` and the run report say "default", as
        they read from a notebook run's executed notebook. A pyproject step's parameters
        are its configuration's, given."""
        step = self.plan.step(name)
        if step.notebook or not str(self.plan.pipeline.source or "").endswith(".ipynb"):
            return []
        return sorted(n for n in self.plan.parameters[name] if n not in self._given)

    def _record_interrupted(self, name: str, why: str) -> None:
        """Record a step whose task was running when the pipeline was stopped."""
        handle, _notebook, _code_hash = self._begin_step_run(name, self._in_flight.get(name))
        self.store.finish_run(handle.run_id, {
            "status": "interrupted", "kind": "step",
            "timing": _timing(self._in_flight.get(name)),
            "error": {"message": f"the pipeline was stopped while it ran ({why})"},
            "pipeline": {"name": self.plan.pipeline.name, "step": name, "run": self._run_id},
        })

    def _finish(self, name: str, result: TaskResult) -> Outcome:
        handed_over = self._in_flight.pop(name, None)
        step = self.plan.step(name)
        receipt = dict(result.receipt or {})
        started = (receipt.get("timing") or {}).get("start") or handed_over
        handle, notebook, code_hash = self._begin_step_run(
            name, started if isinstance(started, str) else None)
        if result.output_notebook is not None:
            atomic_write(handle.run_dir / "output.ipynb", result.output_notebook)
        outputs = {rel: self.store.put_bytes(data) for rel, data in result.files.items()}
        for rel, data in result.files.items():  # a worker without our disk sent them back
            if self._hash_path(rel) != outputs[rel]:
                atomic_write(resolve_inside(self.root, rel), data)
        values, unpicklable = {}, []
        for key, value in result.values.items():
            try:
                values[key] = self.store.put_bytes(pickle.dumps(value))
            except Exception:  # an unpicklable value: the step ran, it just cannot be cached
                unpicklable.append(key)
        self._values[name] = result.values
        # The objects the worker's receipt names, and the models a function step recorded.
        stored = {self.store.put_bytes(data) for data in result.objects.values()}
        ok = result.status == "succeeded"
        if not step.notebook and not receipt.get("data"):
            # A function step: the worker saw which project files it read and wrote.
            receipt["data"] = [
                *(self._data_entry(path, "input") for path in result.inputs
                  if path not in step.outputs),
                *(self._data_entry(path, "output") for path in result.written)]
        parts = self._state(name, self._keys, {}).parts if ok else None
        if parts is not None and receipt.get("data"):
            # Key the run on the inputs it was seen reading, so an unchanged rerun hits.
            upstream = [*self.plan.upstream[name], *self._read_from(name, receipt)]
            parts = replace(parts, inputs=self._input_hashes(name, receipt),
                            upstream={u: self._keys[u] for u in upstream if u in self._keys})
        opaque = None if name in self.pinned else (
            result.opaque if not step.notebook else self._opaque(name, None))
        if parts is not None:
            # A step whose inputs are not all known hands on the content of what it made:
            # later steps rerun when that changed, and only then.
            self._keys[name] = parts.key if opaque is None else hash_json(
                [parts.key, outputs, values])
        receipt.update({
            "status": receipt.get("status") or ("succeeded" if ok else "failed"),
            "kind": "step",
            "parent": self._run_id,
            "notebook": receipt.get("notebook") or {"path": notebook, "hash": code_hash},
            "parameters": receipt.get("parameters", _jsonable(self.plan.parameters[name])),
            "timing": receipt.get("timing") or _timing(None, result.duration_s),
            "error": result.error if not ok else None,
            "pipeline": {"name": self.plan.pipeline.name, "step": name, "run": self._run_id,
                         "outputs": outputs, "values": values, "worker": result.worker,
                         "stdout": result.stdout, "defaults": self._defaults(name)},
            "objects": sorted({*receipt.get("objects", []), *outputs.values(),
                               *values.values()}),
        })
        if receipt["status"] not in ("succeeded", "failed", "kernel_died", "timeout",
                                     "incomplete", "interrupted"):
            receipt["status"] = "failed"
        if parts is not None and not unpicklable:
            receipt["cache"] = {**parts.to_dict(), "opaque": result.opaque}
        if result.records:  # what a function step gave nbprod.record
            receipt["records"] = {**(receipt.get("records") or {}), **result.records}
        # Models a function step gave nbprod.record_model (their bytes came back as objects,
        # stored above), then those [tool.nbprod.pipeline.models] names among its values.
        models = {m["name"]: m for m in receipt.get("models") or []}
        models.update((m["name"], m) for m in result.models if m.get("hash") in stored)
        if ok:
            models.update((m["name"], m) for m in self._keep_models(
                result.values, skip=set(unpicklable)))
        if models:
            receipt["models"] = [models[key] for key in sorted(models)]
            receipt["objects"] = sorted({*receipt["objects"],
                                         *(m["hash"] for m in models.values())})
        self.store.finish_run(handle.run_id, receipt)
        if ok:
            return Outcome(name, "succeeded", f"ran on {result.worker} in"
                           f" {result.duration_s:.1f} s", run_id=handle.run_id)
        message = describe_error(result.error)
        return Outcome(name, "error" if result.status == "error" else "failed", message,
                       run_id=handle.run_id)

    def _keep_models(self, values: Mapping[str, Any], skip: set[str]) -> list[dict]:
        """Receipt entries of the models among a step's returned ``values``, stored; their
        training data may come from this step or one that ran before it. Values that cannot
        be pickled (``skip``) cannot be stored in any format and are left out."""
        from ..run.models import model_entry

        earlier = {key: value for step in self._values.values() for key, value in step.items()}
        kept = []
        for name, spec in sorted(self.models.items()):
            if spec.value not in values or spec.value in skip:
                continue
            training = None
            if spec.training_data is not None:
                training = values.get(spec.training_data, earlier.get(spec.training_data))
            try:
                data, entry = model_entry(name, values[spec.value], training)
            except (TypeError, ValueError) as exc:
                # Training data nbprod cannot profile: the model is kept, without the request
                # schema and drift reference a service needs; the receipt says why.
                data, entry = model_entry(name, values[spec.value])
                entry["profile_error"] = str(exc)
            if self.store.put_bytes(data) == entry["hash"]:
                kept.append(entry)
        return kept


def _check_models(models: Mapping[str, ModelConfig], plan: Plan) -> None:
    returned = {value for step in plan.pipeline.steps for value in step.returns}
    for name, spec in models.items():
        for what, value in (("value", spec.value), ("training-data", spec.training_data)):
            if value is not None and value not in returned:
                known = ", ".join(sorted(returned)) or "none"
                raise ConfigError(
                    f"[tool.nbprod.pipeline.models] {name}: no step returns {what} {value!r}"
                    f" (a step returns what a later step uses); the steps return: {known}"
                )


def run_pipeline(plan: Plan, source: PipelineSource, executor: Executor, *, root: Path,
                 store: Store, force: bool = False, max_parallel: int | None = None,
                 parameters: Mapping[str, Any] | None = None, timeout: float | None = None,
                 kernel: str | None = None, pinned: Iterable[str] = (),
                 models: Mapping[str, ModelConfig] | None = None,
                 on_event: Callable[[Event], None] = lambda event: None) -> PipelineResult:
    """Run ``plan`` on ``executor`` with caching; see ``PipelineRunner``.

    Returns
    -------
    PipelineResult
        Per-step outcomes; a failed step's downstream steps are ``skipped``.

    Raises
    ------
    PipelineError
        When a step outside ``--only``/``--from`` is needed but not cached.
    """
    runner = PipelineRunner(plan, source, root=root, store=store, timeout=timeout, kernel=kernel,
                            pinned=pinned, models=models)
    return runner.run(executor, force=force, max_parallel=max_parallel, parameters=parameters,
                      on_event=on_event)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def _relative_file(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` when it is a file inside it, else None."""
    try:
        resolved = path.resolve()
        return resolved.relative_to(root).as_posix() if resolved.is_file() else None
    except (OSError, ValueError):
        return None


def _files_in(folder: Path, root: Path) -> list[str]:
    """The files under ``folder`` (followed into subfolders, not through links), relative to
    ``root``, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        base = Path(dirpath)
        found += [(base / name).relative_to(root).as_posix() for name in filenames
                  if (base / name).is_file() and not (base / name).is_symlink()]
    return sorted(found)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _timing(started: str | None, duration: float | None = None) -> dict[str, Any]:
    """Start, end and duration; a step timed by its worker gets its start from the duration."""
    end = _now()
    if started is not None:
        duration = (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(started)
                    ).total_seconds()
    elif duration is not None:
        started = (dt.datetime.fromisoformat(end) - dt.timedelta(seconds=duration)
                   ).isoformat(timespec="microseconds")
    return {"start": started, "end": end, "duration_s": duration}


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else repr(v)
            for k, v in values.items()}


def _failure_summary(outcomes: Mapping[str, Outcome]) -> str:
    failed = [n for n, o in outcomes.items() if o.status in ("failed", "error")]
    skipped = [n for n, o in outcomes.items() if o.status == "skipped"]
    text = f"failed: {', '.join(failed)}"
    return text + (f"; skipped: {', '.join(skipped)}" if skipped else "")
