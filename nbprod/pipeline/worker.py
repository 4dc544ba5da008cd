"""What runs on a worker: one step (or one sweep run), from a self-contained task.

A ``StepTask`` carries everything a worker needs (the notebook's bytes or the step module's
source, parameters, upstream values) and a ``TaskResult`` carries everything back (status,
error, receipt, output notebook, returned values, declared output files, and what a function
step gave ``nbprod.record`` and ``nbprod.record_model``). Workers never write
the project's run store: a notebook runs against a private scratch store in a temporary folder,
and the client records the result in the real store. So a worker may sit on another machine
that does not share the project's disk.

This module must stay importable on a worker: no Dask, no CLI.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import linecache
import os
import socket
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..run.record import Recorded, recording
from ..store.hashing import hash_bytes
from ..syntax import guard_parsing
from .access import watch_reads

__all__ = ["StepTask", "TaskResult", "dask_setup", "describe_error", "run_task", "warm_up"]

#: The most printed text of a function step kept in its receipt (the end of it).
MAX_STDOUT = 64 * 1024


@dataclass(frozen=True)
class StepTask:
    """One unit of work sent to a worker.

    ``notebook``/``notebook_bytes`` describe a notebook step or sweep run; ``function``
    ("package.module:fn") a function step of a notebook's ``step:`` cells, with ``modules``
    the generated sources (dotted name -> source, in import order) it needs.
    ``project_root`` is the client's project folder: a worker that sees the same notebook there
    (same content hash) runs in place, so relative data paths work; otherwise it runs in a
    scratch folder holding the notebook and the ``input_files`` shipped with the task.
    """

    name: str
    project_root: str
    notebook: str | None = None
    notebook_bytes: bytes | None = None
    modules: dict[str, str] = field(default_factory=dict)
    function: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    returns: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    input_files: dict[str, bytes] = field(default_factory=dict)
    timeout: float | None = None
    kernel: str | None = None
    cwd: str | None = None  # a function step runs in its notebook's folder, as the notebook did


@dataclass
class TaskResult:
    """What a worker sends back. ``status`` is succeeded, failed (the step raised) or error
    (the machinery failed: the worker died, the kernel died, a timeout)."""

    name: str
    status: str
    error: dict[str, Any] | None = None
    receipt: dict[str, Any] | None = None
    output_notebook: bytes | None = None
    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    objects: dict[str, bytes] = field(default_factory=dict)  # store objects the receipt names
    records: dict[str, Any] = field(default_factory=dict)  # a function step's nbprod.record
    models: list[dict] = field(default_factory=list)  # its record_model entries (bytes: objects)
    stdout: str = ""  # what a function step printed (notebook output stays in the notebook)
    inputs: list[str] = field(default_factory=list)  # project files a function step read
    written: list[str] = field(default_factory=list)  # project files the step wrote
    opaque: str | None = None  # why a function step's inputs may not all have been seen
    worker: str = ""
    duration_s: float = 0.0


def run_task(task: StepTask) -> TaskResult:
    """Run one task and describe the outcome; a step that raises is a result, not an exception.

    Returns
    -------
    TaskResult
        Never raises for a failing step, so Dask does not retry a deterministic failure: only a
        dead worker leads to a retry.
    """
    started = time.perf_counter()
    where = f"{socket.gethostname()}:{os.getpid()}"
    if task.function:
        result = _run_function(task)
    else:
        result = _run_notebook(task)
    missing = [rel for rel in task.outputs if rel not in result.files]
    if result.status == "succeeded" and missing:
        # Later steps read it, and the cache would restore nothing in its place.
        result.status = "failed"
        result.error = {"message": f"it did not write {missing[0]!r}, which it declares in"
                                   " outputs; write it in the step, or remove it from outputs"}
        if result.receipt is not None:
            result.receipt["status"] = "failed"
            result.receipt["error"] = result.error
    result.worker = where
    result.duration_s = time.perf_counter() - started
    return result


def warm_up() -> None:
    """Import what a notebook run needs (papermill, nbclient, nbformat, the run store).

    A fresh worker process otherwise pays several seconds of imports on its first run
    (``import nbformat`` builds jsonschema's format checkers).
    """
    # Imported for their side effect: sys.modules holds them for the runs to come.
    from ..run import engine  # noqa: F401
    from ..store import Store, environment  # noqa: F401


def dask_setup(worker: Any = None) -> None:
    """Dask's preload hook: ``dask worker ADDRESS --preload nbprod.pipeline.worker`` imports
    what runs need while the worker starts, so its first run is not seconds slower."""
    del worker  # the hook's signature; nothing per worker to set up
    guard_parsing()  # a worker with several threads runs several notebooks at once
    warm_up()


def _run_function(task: StepTask) -> TaskResult:
    module_name, _, function_name = (task.function or "").partition(":")
    printed = io.StringIO()
    recorded = Recorded()  # what the step gives nbprod.record / record_model
    with tempfile.TemporaryDirectory(prefix="nbprod-task-") as scratch:
        root, cwd = _function_workspace(task, Path(scratch))
        try:
            # What the step prints is kept for its receipt, not mixed into the caller's
            # output; the files it opens are watched, so its cache key covers what it read.
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), \
                    _working_directory(cwd), _project_imports(task.project_root):
                module = _load_modules(task.modules, module_name)
                with watch_reads(str(root)) as reads, recording(recorded):
                    value = getattr(module, function_name)(**task.args, **task.parameters)
            values = _named(task.returns, value)
        except Exception as exc:  # the step's own code raised: report it, do not crash
            # What it recorded before it raised is kept, as a notebook run keeps it.
            return TaskResult(task.name, "failed", error=_error(exc),
                              stdout=printed.getvalue()[-MAX_STDOUT:], **_kept(recorded))
        # On a worker without the project's disk, what the step wrote goes back with it.
        files = {} if root == Path(task.project_root) else {
            rel: (root / rel).read_bytes() for rel in sorted(reads.written)
            if (root / rel).is_file()}
        return TaskResult(task.name, "succeeded", values=values, inputs=reads.inputs,
                          written=sorted(reads.written), files=files, opaque=reads.opaque,
                          stdout=printed.getvalue()[-MAX_STDOUT:], **_kept(recorded))


def _kept(recorded: Recorded) -> dict[str, Any]:
    """``TaskResult`` fields for what a function step recorded: its records, its models'
    receipt entries, and the models' bytes as store objects by hash."""
    entries = [entry for entry, _ in recorded.models.values()]
    objects = {entry["hash"]: data for entry, data in recorded.models.values()}
    return {"records": dict(recorded.records), "models": entries, "objects": objects}


def _function_workspace(task: StepTask, scratch: Path) -> tuple[Path, str | None]:
    """(project root, working folder) for a function step on this worker.

    The project itself when this worker sees it; else a scratch copy of the project layout
    holding the files shipped with the task, with the same working folder inside it.
    """
    shared = Path(task.project_root)
    if shared.is_dir() and all(
            (shared / rel).is_file() and hash_bytes((shared / rel).read_bytes()) == hash_bytes(data)
            for rel, data in task.input_files.items()):
        return shared, task.cwd
    root = scratch / "project"
    for rel, data in task.input_files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    relative = os.path.relpath(task.cwd, task.project_root) if task.cwd else "."
    cwd = (root / relative).resolve()
    cwd.mkdir(parents=True, exist_ok=True)
    return root, str(cwd)


@contextlib.contextmanager
def _working_directory(folder: str | None) -> Iterator[None]:
    """Run relative paths from ``folder`` when this worker sees it; restore the old one after."""
    if not folder or not os.path.isdir(folder):
        yield
        return
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


#: What earlier function steps in this process left behind: the modules they imported from
#: their project, and the project folders they put on ``sys.path``.
_PROJECT_MODULES: set[str] = set()
_PROJECT_PATHS: list[str] = []


@contextlib.contextmanager
def _project_imports(project_root: str) -> Iterator[None]:
    """Let a function step import its project's modules as they are now.

    A worker lives across pipeline runs (a Dask worker, or this process in a test), and
    Python keeps every module it imported: a step rerun because ``mylib.py`` changed would
    still call the old ``mylib``. So the modules earlier steps imported from their project
    are forgotten first, and another project's folder leaves ``sys.path``. They are
    forgotten before the next step rather than after this one: the step's return values may
    be instances of their classes, which pickling looks up by module.
    """
    for name in _PROJECT_MODULES:
        sys.modules.pop(name, None)
    _PROJECT_MODULES.clear()
    for folder in _PROJECT_PATHS:
        if folder in sys.path:
            sys.path.remove(folder)
    _PROJECT_PATHS.clear()
    if os.path.isdir(project_root) and project_root not in sys.path:
        sys.path.insert(0, project_root)
        _PROJECT_PATHS.append(project_root)
    before = set(sys.modules)
    try:
        yield
    finally:
        inside = os.path.join(os.path.abspath(project_root), "")
        for name in set(sys.modules) - before:
            file = getattr(sys.modules.get(name), "__file__", None)
            # Installed packages (a virtualenv inside the project) are imported once.
            if isinstance(file, str) and os.path.abspath(file).startswith(inside) and not any(
                    part in file for part in ("site-packages", "dist-packages")):
                _PROJECT_MODULES.add(name)


def _load_modules(sources: dict[str, str], wanted: str) -> types.ModuleType:
    """Execute the shipped generated modules (so a worker needs no copy of the project) and
    register them under their dotted names, so the step module's imports of the exported
    module resolve to the shipped code."""
    if wanted not in sources:
        return importlib.import_module(wanted)
    for name, source in sources.items():
        _ensure_parents(name)
        module = types.ModuleType(name)
        module.__file__ = f"<nbprod generated {name}>"
        # Registered with linecache so a failing step's traceback shows its source lines.
        linecache.cache[module.__file__] = (len(source), None, source.splitlines(True),
                                            module.__file__)
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        parent, _, leaf = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], leaf, module)
    return sys.modules[wanted]


def _ensure_parents(name: str) -> None:
    parts = name.split(".")[:-1]
    for depth in range(1, len(parts) + 1):
        package = ".".join(parts[:depth])
        if package in sys.modules:
            continue
        try:
            importlib.import_module(package)
        except ImportError:
            module = types.ModuleType(package)
            module.__path__ = []  # a package with no files: holds the shipped modules only
            sys.modules[package] = module


def _named(returns: tuple[str, ...], value: Any) -> dict[str, Any]:
    if not returns:
        return {}
    if len(returns) == 1:
        return {returns[0]: value}
    if isinstance(value, dict):
        return {name: value[name] for name in returns}
    return dict(zip(returns, value, strict=True))


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "message": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
    }


def describe_error(error: dict[str, Any] | None) -> str:
    """One line for an error dict: ``cell 3: ValueError: bad depth`` or its message."""
    if not error:
        return "failed"
    if error.get("ename"):
        where = f"cell {error['cell']}: " if error.get("cell") else ""
        return f"{where}{error['ename']}: {error.get('evalue', '')}".rstrip(": ")
    return str(error.get("message") or error)


def _run_notebook(task: StepTask) -> TaskResult:
    from ..run import run_notebook
    from ..store import Store

    with tempfile.TemporaryDirectory(prefix="nbprod-task-") as scratch:
        root = _workspace(task, Path(scratch))
        store = Store.open(Path(scratch) / "store")
        path = root / task.notebook
        try:
            result = run_notebook(path, dict(task.parameters), project_root=root,
                                  timeout=task.timeout, kernel=task.kernel, store=store)
        except Exception as exc:  # bad parameters (a step's fault), no kernel (the machine's)
            user_error = getattr(exc, "exit_code", 3) != 3
            return TaskResult(task.name, "failed" if user_error else "error", error=_error(exc))
        output = Path(result.run_dir) / "output.ipynb"
        files = {rel: (root / rel).read_bytes() for rel in task.outputs if (root / rel).is_file()}
        receipt = dict(result.receipt or {})
        # Exit code 1 (a cell raised, sys.exit early) is the notebook's fault; 3 (the kernel
        # died, a timeout) the machinery's.
        status = {0: "succeeded", 1: "failed"}.get(result.exit_code, "error")
        error = receipt.get("error") or (
            {"message": str(result.error)} if result.error is not None else None)
        objects = {digest: store.objects.path_for(digest).read_bytes()
                   for digest in _references(receipt) if store.objects.exists(digest)}
        written = [entry["path"] for entry in receipt.get("data") or []
                   if isinstance(entry, dict) and entry.get("role") == "output"
                   and isinstance(entry.get("path"), str)]
        return TaskResult(
            task.name, status, error=error, receipt=receipt,
            output_notebook=output.read_bytes() if output.is_file() else None, files=files,
            objects=objects, written=written,
        )


def _references(receipt: dict[str, Any]) -> set[str]:
    """The object hashes a receipt names (data copied into the store, other objects)."""
    refs = {entry.get("hash") for entry in receipt.get("data") or []
            if isinstance(entry, dict) and entry.get("stored")}
    refs |= set(receipt.get("objects") or [])
    return {r for r in refs if isinstance(r, str)}


def _workspace(task: StepTask, scratch: Path) -> Path:
    """The project root if this worker sees the same notebook there, else a scratch copy."""
    shared = Path(task.project_root) / (task.notebook or "")
    expected = hash_bytes(task.notebook_bytes or b"")
    if shared.is_file() and hash_bytes(shared.read_bytes()) == expected:
        return Path(task.project_root)
    root = scratch / "project"
    for rel, data in {task.notebook: task.notebook_bytes, **task.input_files}.items():
        target = root / rel  # type: ignore[operator]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data or b"")
    return root
