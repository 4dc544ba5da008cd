"""One run, from ``begin_run`` to ``finish_run``: whatever happens, it ends with a receipt.

``run_notebook`` (``nbprod.run``) checks the input (the notebook loaded once, the project's
configuration read once, parameters coerced, kernel and working directory resolved) and
hands a ``Runner`` everything already decided; the runner only executes and records.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ExecutionError, InfrastructureError, NbprodError
from ..params.redact import MIN_SECRET_LENGTH, credential_parameters
from . import RunConfig, RunResult
from .execute import signals_interrupt
from .masking import SecretMasker, environment_secrets

__all__ = ["Runner"]

HEARTBEAT_S = 30.0


@dataclass(kw_only=True)
class Runner:
    """One run from ``begin_run`` to ``finish_run``; every path ends with a receipt."""

    store: Any
    root: Path  # the project: data paths and the notebook path are relative to it
    nb: Any  # the loaded input Notebook
    raw: bytes  # its bytes, as hashed and stored
    values: dict[str, Any]  # coerced parameter values
    kernel_name: str
    language: str
    cwd: Path
    config: RunConfig
    kind: str
    parent: str | None
    output_copy: Path | None
    progress: Any
    log_output: Any = None
    hidden: set[str] = field(default_factory=set)  # parameter names whose values are secret

    def run(self) -> RunResult:
        from ..params.redact import is_secret, redact
        from ..store.environment import capture_environment
        from ..store.hashing import hash_bytes

        store = self.store
        rel = _relative_to(self.nb.path, self.root)
        notebook_hash = hash_bytes(self.raw)
        # Secret by name (api_token) or by value (a URL with a password): never stored.
        self.hidden = {k for k in self.values if is_secret(k)} | credential_parameters(
            self.values)
        public_params = redact(self.values, also=self.hidden)
        handle = store.begin_run(rel, notebook_hash, public_params, kind=self.kind,
                                 parent=self.parent)
        started_wall = datetime.now(timezone.utc).isoformat()
        began = time.monotonic()
        env_box: dict[str, Any] = {}
        env_thread = threading.Thread(target=self._capture_environment,
                                      args=(env_box, capture_environment), daemon=True)
        stop_beat = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(store, handle.run_id, stop_beat),
                                daemon=True)
        beat.start()
        # Values masked in stored outputs; very short ones would blank out unrelated text.
        secrets = [str(v) for k, v in self.values.items()
                   if k in self.hidden and v is not None and len(str(v)) >= MIN_SECRET_LENGTH]
        masker = SecretMasker([*secrets, *environment_secrets()])
        watcher = None
        if self.config.capture and self.language == "python":
            from .watch import InputWatcher

            watcher = InputWatcher(handle.run_dir / "access.jsonl", store, self.root).start()
        try:
            try:
                with signals_interrupt():
                    execution = self._execute(handle, public_params, masker, env_thread)
            finally:
                if watcher is not None:
                    watcher.stop()
            _mask_run_files(handle.run_dir, masker)
            receipt = self._receipt(handle, rel, notebook_hash, public_params, execution,
                                    started_wall, began, env_thread, env_box, masker, watcher)
            store.finish_run(handle.run_id, receipt)
        except BaseException as exc:
            self._record_crash(handle, rel, notebook_hash, public_params, started_wall, began,
                               exc, masker)
            raise
        finally:
            stop_beat.set()
        if self.output_copy is not None:
            # The user's own copy is the notebook as it ran: outputs unmasked (only the
            # injected parameters cell shows secret parameters as ***).
            from ..fsutil import atomic_write

            atomic_write(self.output_copy, self._user_copy())
        return RunResult(handle.run_id, execution.status, handle.run_dir, receipt,
                         _error_for(execution, handle.run_id))

    def _capture_environment(self, box: dict, capture: Any) -> None:
        try:
            box["env"] = capture(self.kernel_name, project_root=self.root, private=True)
        except Exception as exc:  # recorded, never fatal: the notebook's result matters more
            box["env"] = {"error": f"{type(exc).__name__}: {exc}"}

    def _execute(self, handle, public_params, masker, env_thread):
        from ..params.inject import inject, render_assignments
        from ..params.redact import REDACTED
        from .capture import setup_source
        from .execute import execute, load_engine, redacting

        node = copy.deepcopy(self.nb.node)
        position = inject(node, self.values)
        origins: list[int | None] = list(range(1, len(self.nb.cells) + 1))
        if position is not None and len(node.cells) > len(origins):
            origins.insert(position, None)
        elif position is not None:
            origins[position] = None  # an existing injected cell was replaced
        safe_source = render_assignments(
            {k: (REDACTED if k in self.hidden else v) for k, v in self.values.items()}
        ) if position is not None else None
        node.metadata["nbprod"] = {"run_id": handle.run_id, "notebook": self.nb.display_path}
        setup = None
        if self.language == "python":
            setup = setup_source(
                project_root=self.root, store_path=self.store.path,
                access_log=handle.run_dir / "access.jsonl",
                records=handle.run_dir / "records.jsonl", run_id=handle.run_id,
                capture=self.config.capture,
            )
        # The environment is captured while the kernel starts (joined for the receipt). The
        # thread starts only after every module both threads need is imported and this
        # thread's own parsing is done: CPython 3.11 can fail when two threads build ASTs at
        # once (import hooks such as pytest's parse modules).
        load_engine()
        env_thread.start()
        execution = execute(
            node, output_path=handle.run_dir / "output.ipynb", kernel_name=self.kernel_name,
            cwd=self.cwd, timeout=self.config.timeout, origins=origins, setup_source=setup,
            progress=self.progress, redactor=redacting(masker, position, safe_source),
            log_output=self.log_output,
            notebook_meta={"parameters": public_params, "input_path": self.nb.display_path,
                           "output_path": str(handle.run_dir / "output.ipynb")},
        )
        self._executed = (node, position, safe_source)
        return execution

    def _user_copy(self) -> str:
        """The executed notebook for ``--output``, secret parameters hidden in its injected
        cell only."""
        import nbformat

        node, position, safe_source = self._executed
        if position is not None and safe_source is not None:
            node = copy.deepcopy(node)
            node.cells[position].source = safe_source
        return nbformat.writes(node)

    def _receipt(self, handle, rel, notebook_hash, public_params, execution, started_wall,
                 began, env_thread, env_box, masker, watcher):
        from .capture import capture_data, read_access_log
        from .models import collect_models
        from .receipt import build_receipt
        from .record import read_records

        notebook_object = self.store.put_bytes(self.raw)
        models = collect_models(handle.run_dir, self.store)
        data, stored = capture_data(
            read_access_log(handle.run_dir / "access.jsonl"), self.store, self.root,
            copy_inputs=self.store.config.copy_data,
            copy_outputs_max_bytes=self.store.config.copy_outputs_max_bytes,
            profile_max_bytes=self.config.profile_max_bytes,
        )
        env_thread.join()
        if "error" in env_box.get("env", {"error": None}):
            # Capturing while the kernel runs can fail spuriously (CPython 3.11 raises
            # "AST constructor recursion depth mismatch" when two threads build ASTs at once);
            # the kernel is done now, so try once more in this thread.
            from ..store.environment import capture_environment

            self._capture_environment(env_box, capture_environment)
        environment = _with_needed(env_box.get("env", {}), handle.run_dir)
        return build_receipt(
            run_id=handle.run_id, status=execution.status,
            notebook={"path": rel, "hash": notebook_hash, "object": notebook_object},
            parameters=public_params, kind=self.kind, parent=self.parent,
            kernel=self.kernel_name, start=started_wall,
            end=datetime.now(timezone.utc).isoformat(), duration_s=time.monotonic() - began,
            cells=execution.cells, environment=environment, data=data,
            records=read_records(handle.run_dir / "records.jsonl"), error=execution.error,
            objects=[notebook_object, *stored, *(m["hash"] for m in models)], masker=masker,
            models=models,
            changed_during_run=watcher.changes(data) if watcher is not None else None,
        )

    def _record_crash(self, handle, rel, notebook_hash, public_params, started_wall, began,
                      exc: BaseException, masker: Any) -> None:
        """Close the run as interrupted when nbprod itself failed or was stopped mid-way."""
        from .receipt import build_receipt

        receipt = build_receipt(
            run_id=handle.run_id, status="interrupted",
            notebook={"path": rel, "hash": notebook_hash}, parameters=public_params,
            kind=self.kind, parent=self.parent, kernel=self.kernel_name, start=started_wall,
            end=datetime.now(timezone.utc).isoformat(), duration_s=time.monotonic() - began,
            cells=[], environment={}, data=[], records={},
            error={"cell": None, "cell_id": None, "ename": type(exc).__name__,
                   "evalue": str(exc), "message": f"nbprod stopped: {type(exc).__name__}"},
            objects=[], masker=masker,
        )
        try:
            _mask_run_files(handle.run_dir, masker)
            self.store.finish_run(handle.run_id, receipt)
        except Exception:
            pass  # the store's pid check marks the run interrupted later


def _with_needed(environment: dict, run_dir: Path) -> dict:
    """The environment for the receipt, with ``needed``: the distributions the kernel's imports
    came from, transitively (None when the kernel did not report its imports)."""
    from ..store.interpreter import needed_distributions
    from .capture import IMPORTS_FILE, read_imports

    environment = dict(environment)
    imported = read_imports(run_dir / IMPORTS_FILE)
    if "_modules" in environment:
        environment["needed"] = (needed_distributions(imported, environment)
                                 if imported is not None else None)
    environment.pop("_modules", None)
    environment.pop("_requires", None)
    return environment


#: Files the kernel writes into the run folder itself, bypassing the masked saves.
_KERNEL_WRITTEN = ("records.jsonl", "kernel.log")


def _mask_run_files(run_dir: Path, masker: Any) -> None:
    """Mask the files the kernel wrote into the run folder (records it appended, its own
    stderr), so the store holds no secret the output notebook and receipt do not."""
    from ..fsutil import atomic_write

    for name in _KERNEL_WRITTEN:
        path = run_dir / name
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        masked = masker.text(text)
        if masked != text:
            atomic_write(path, masked)


def _relative_to(path: Path | None, root: Path) -> str:
    if path is None:
        return "<notebook>"
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _heartbeat(store: Any, run_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            store.heartbeat(run_id)
        except Exception:
            return  # a busy or closed store: the pid check still covers this host


def _error_for(execution: Any, run_id: str) -> NbprodError | None:
    error = execution.error
    if execution.status == "succeeded" or error is None:
        return None
    message = f"run {run_id} {execution.status}: {error['message']}"
    if execution.status in ("failed", "incomplete"):
        return ExecutionError(message, cell=error.get("cell"), cell_id=error.get("cell_id"),
                              ename=error.get("ename"), evalue=error.get("evalue"),
                              traceback=error.get("traceback"))
    return InfrastructureError(message)
