"""``nbprod reproduce``: re-run a recorded run and check that it gives the same outputs.

First the differences that could explain a mismatch are collected without running anything:
the environment now versus the receipt's (Python, packages, git), and the input data now versus
the hashes recorded. Then the notebook version recorded in the store runs again with the
recorded parameters (a new run of kind ``reproduce`` whose parent is the original), and the two
output notebooks are compared with tolerances (``compare.py``).

With ``isolated``, the notebook runs in the environment the run ran in instead of the current
one: the input data is checked first (a changed input stops it, unless ``allow_data_change``),
then the receipt is locked and a virtual environment built from the lock with uv
(``nbprod.env``), and the run's kernel is that environment's. ``upgrade`` names packages to take
at their newest version there instead: when the notebook then breaks, the API-drift lint rules
(NB5xx) that flag the failing cell are reported as what predicted it.

The module is not called ``reproduce``: importing it would replace the function
``nbprod.run.reproduce`` with the module of the same name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataChangedError, ParameterError, StoreError
from . import RunResult, run_notebook
from .compare import Difference, Tolerance, compare_notebooks

__all__ = ["ReproduceResult", "current_data", "reproduce"]

DEFAULT_TOLERANCE = Tolerance()


@dataclass
class ReproduceResult:
    """The original run, the new run, what changed before running, and the first mismatch."""

    original: dict
    run: RunResult
    environment: dict
    data: dict
    difference: Difference | None = None
    notes: list[str] = field(default_factory=list)
    isolated: dict | None = None  # lock, environment, kernel, cached, upgraded versions
    predicted: list[dict] = field(default_factory=list)  # NB5xx findings at the failing cell

    @property
    def ok(self) -> bool:
        return self.difference is None

    @property
    def inputs_in_flux(self) -> list[str]:
        """Inputs that changed while the original run or the re-run read them: a match (or a
        mismatch) then says little about the notebook, and reports say so."""
        paths = [entry.get("path") for receipt in (self.original, self.run.receipt)
                 for entry in receipt.get("changed_during_run") or []]
        return sorted({str(p) for p in paths if p})

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        infra = ("kernel_died", "timeout", "interrupted")
        if self.run.status in infra and self.original.get("status") not in infra:
            return 3
        return 1

    def to_dict(self) -> dict:
        return {
            "original": self.original.get("run_id"),
            "run_id": self.run.run_id,
            "status": self.run.status,
            "reproduced": self.ok,
            "environment": self.environment,
            "data": self.data,
            "notes": self.notes,
            "difference": self.difference.to_dict() if self.difference else None,
            "inputs_changed_during_run": self.inputs_in_flux,
            "isolated": self.isolated,
            "predicted_by": self.predicted,
        }


def current_data(entries: list[dict], store: Any) -> list[dict]:
    """The recorded input files as they are now: hash, size and profile (missing ones left out)."""
    from .profile import profile_file

    now = []
    for entry in entries:
        if entry.get("role") != "input" or "path" not in entry:
            continue
        path = Path(store.root) / entry["path"]
        try:
            digest, size = store.hash_file(path)
        except StoreError:
            continue
        item = {"path": entry["path"], "role": "input", "hash": digest, "bytes": size}
        if entry.get("profile"):
            profile = profile_file(path, max_bytes=64 * 2**20)
            if profile is not None:
                item["profile"] = profile
        now.append(item)
    return now


def reproduce(
    run_id: str,
    *,
    project_root: str | os.PathLike = ".",
    store: Any = None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    parameters: dict[str, Any] | None = None,
    timeout: float | None = None,
    on_report: Callable[[dict, dict, list[str]], None] | None = None,
    progress: Any = None,
    isolated: bool = False,
    upgrade: tuple[str, ...] | list[str] = (),
    sources: Any = None,
    allow_data_change: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> ReproduceResult:
    """Re-run run ``run_id`` with its recorded parameters and compare the outputs.

    Parameters
    ----------
    run_id:
        A run id or a unique prefix of one.
    project_root:
        Where to find the project's store (when ``store`` is not given).
    tolerance:
        How far numbers in outputs may drift.
    parameters:
        Values for parameters whose recorded value was redacted (secrets are never stored).
    on_report:
        Called with (environment diff, data diff, notes) before the notebook runs again.
    isolated:
        Run in an environment rebuilt from the receipt (see the module docstring).
    upgrade:
        Packages to take at their newest version in that environment (implies ``isolated``).
    sources:
        ``nbprod.env.Sources``: index, local folders of wheels, offline.
    allow_data_change:
        Reproduce in isolation even when input files changed since the run.
    on_stage:
        Called with a line of text as each step of an isolated reproduce starts.

    Returns
    -------
    ReproduceResult

    Raises
    ------
    StoreError
        When the run is unknown or its outputs are missing.
    ParameterError
        When a redacted parameter is not given again.
    DataChangedError
        With ``isolated``, when an input changed or is missing (unless ``allow_data_change``).
    LockError
        When the run's environment cannot be locked or built.
    """
    from ..store import open_project_store
    from ..store.diff import diff_data, diff_environment
    from ..store.environment import capture_environment

    if store is None:
        store = open_project_store(project_root, create=False)
    original = store.get_run(run_id)
    full_id = original["run_id"]
    old_output = store.run_dir(full_id) / "output.ipynb"
    _check_reproducible(store, original, old_output)
    if not old_output.is_file():
        raise StoreError(f"run {full_id} has no output notebook to compare with (status"
                         f" {original.get('status')}); pick a finished run")
    values = _recorded_values(full_id, original.get("parameters") or {}, parameters or {})
    notebook = original.get("notebook") or {}
    nb_path = Path(store.root) / notebook.get("path", "")
    notes: list[str] = []
    source = _recorded_source(store, notebook)
    if source is None:
        raise StoreError(f"run {full_id}: the recorded notebook is not in the store, and"
                         f" {nb_path} is not the recorded version; cannot reproduce")
    if not nb_path.is_file():
        notes.append(f"{notebook.get('path')} no longer exists; running the recorded version")
    elif _hash_of(nb_path) != notebook.get("hash"):
        notes.append(f"{notebook.get('path')} changed since the run; running the recorded"
                     " version")

    kernel = original.get("kernel")
    recorded_inputs = [e for e in original.get("data") or [] if e.get("role") == "input"]
    data = diff_data(recorded_inputs, current_data(recorded_inputs, store))
    setup = None
    if isolated or upgrade:
        _check_data(full_id, data, allow_data_change)
        setup = _isolated_kernel(original, tuple(upgrade), sources, on_stage or (lambda _: None))
        kernel = setup["kernel"]
    recorded_env = original.get("environment")
    current_env = capture_environment(kernel, project_root=store.root)
    if setup is not None:  # the environment holds what the run needed, not all it had
        recorded_env = _only(recorded_env, current_env.get("packages") or {})
    environment = diff_environment(recorded_env, current_env)
    if setup is not None:
        environment["system"].pop("kernel", None)  # a new kernel by design
    if on_report is not None:
        on_report(environment, data, notes)

    texts = {name for name, value in values.items() if isinstance(value, str)}
    result = run_notebook(
        nb_path, values, store=store, text_parameters=texts, kind="reproduce", parent=full_id,
        timeout=timeout, kernel=kernel, source=source, progress=progress,
    )
    difference = _first_difference(original, result, old_output, tolerance)
    predicted = []
    if upgrade and difference is not None and difference.cell is not None:
        from .drift import drift_findings

        predicted = drift_findings(source, nb_path, difference.cell)
    return ReproduceResult(original, result, environment, data, difference, notes, setup,
                           predicted)


def _recorded_values(run_id: str, recorded: dict[str, Any], given: dict[str, Any]
                     ) -> dict[str, Any]:
    """The run's parameters, with the values of the redacted ones (secrets) from ``given``.

    A value given for any other parameter is refused: a reproduction with another value
    would be compared with the run as if it were the same run, and called a match.
    """
    from ..params.redact import REDACTED

    for name in given:
        if name not in recorded:
            raise ParameterError(
                f"run {run_id} has no parameter {name!r}; -p gives the value of a redacted"
                f" parameter (a secret), and this run's are:"
                f" {', '.join(n for n, v in recorded.items() if v == REDACTED) or 'none'}")
        if recorded[name] != REDACTED:
            raise ParameterError(
                f"run {run_id}: parameter {name!r} was recorded ({recorded[name]!r}), and a"
                " reproduction runs with the recorded values; -p is only for redacted ones"
                f" (secrets). To run with {name}={given[name]}, use nbprod run")
    for name, value in recorded.items():
        if value == REDACTED and name not in given:
            raise ParameterError(
                f"run {run_id}: parameter {name!r} was redacted (a secret); give it again"
                f" with -p {name} VALUE")
    return {**recorded, **given}


def _check_reproducible(store: Any, original: dict, old_output: Path) -> None:
    """Refuse the runs that are not one notebook's execution, saying what to do instead."""
    full_id = original["run_id"]
    kind = original.get("kind") or "run"
    children = f"list them with 'nbprod runs list --parent {full_id}'"
    if kind == "sweep":
        raise StoreError(f"run {full_id} is a sweep, which cannot be reproduced as a whole;"
                         f" reproduce one of its runs instead ({children})")
    if kind == "pipeline":
        rerun = "run the pipeline again with 'nbprod pipeline run --force'"
        if not any((store.run_dir(step["run_id"]) / "output.ipynb").is_file()
                   for step in store.list_runs(parent=full_id, limit=10_000)):
            raise StoreError(f"run {full_id} is a pipeline run of function steps, which ran"
                             f" functions, not notebooks: nothing to reproduce; {rerun} and"
                             f" compare its steps with 'nbprod runs diff' ({children})")
        raise StoreError(f"run {full_id} is a pipeline run, which cannot be reproduced as a"
                         f" whole; reproduce one of its notebook steps instead ({children}),"
                         f" or {rerun}")
    if kind == "step" and not old_output.is_file() and "cells" not in original:
        # A function step: its receipt is the pipeline's, not a notebook run's.
        step = (original.get("pipeline") or {}).get("step") or "STEP"
        parent = original.get("parent")
        siblings = f" (the pipeline's steps: 'nbprod runs list --parent {parent}')" \
            if parent else ""
        raise StoreError(f"run {full_id} is a function step of a pipeline: it ran a function,"
                         " not a notebook, so there are no notebook outputs to compare;"
                         f" run the step again with 'nbprod pipeline run --only {step} --force'"
                         f" and compare the runs with 'nbprod runs diff'{siblings}")


def _check_data(run_id: str, data: dict, allow: bool) -> None:
    """Stop before building anything when the inputs are not those the run read."""
    changed = [e["path"] for e in data.get("changed", [])]
    missing = [e["path"] for e in data.get("removed", [])]
    if allow or not (changed or missing):
        return
    what = "; ".join(filter(None, [
        f"{', '.join(changed)} changed since the run" if changed else "",
        f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing" if missing else "",
    ]))
    raise DataChangedError(f"run {run_id}: {what}; restore the recorded inputs, or pass"
                           " --allow-data-change to reproduce with the current ones")


def _isolated_kernel(original: dict, upgrade: tuple[str, ...], sources: Any,
                     stage: Callable[[str], None]) -> dict:
    """Lock the run's environment, build it (or reuse it) and return its kernel and facts."""
    from ..env import Sources, compile_lock, ensure_environment, plan_for
    from ..fsutil import default_cache_folder

    cache = default_cache_folder()
    sources = sources or Sources()
    plan = plan_for(original, upgrade, cache)
    for note in plan.notes:
        stage(f"note: {note}")
    stage(f"locking {len(plan.requirements)} distributions for Python {plan.python}")
    lock = compile_lock(plan, sources, cache)
    stage(f"building the environment from {lock.requirements_path}")
    env = ensure_environment(lock, sources, cache)
    stage(f"environment {env.folder} ({'reused' if env.cached else 'built'} in"
          f" {env.seconds:.1f} s), kernel {env.kernel_name}")
    versions = lock.versions()
    return {"kernel": env.kernel_name, "lock": str(lock.folder), "environment": str(env.folder),
            "cached": env.cached, "seconds": round(env.seconds, 3),
            "upgraded": {name: versions.get(name) for name in plan.upgrade}}


def _only(environment: dict | None, packages: dict) -> dict:
    """``environment`` with its packages cut down to ``packages``' names (and those missing
    from it that the run needed), for comparing with an isolated environment."""
    environment = dict(environment or {})
    recorded = environment.get("packages") or {}
    keep = set(packages) | set(environment.get("needed") or [])
    environment["packages"] = {k: v for k, v in recorded.items() if k in keep}
    return environment


def _recorded_source(store: Any, notebook: dict) -> bytes | None:
    digest = notebook.get("object")
    if digest and store.objects.exists(digest):
        return store.objects.path_for(digest).read_bytes()
    path = Path(store.root) / notebook.get("path", "")
    if path.is_file() and _hash_of(path) == notebook.get("hash"):
        return path.read_bytes()
    return None


def _hash_of(path: Path) -> str:
    from ..store.hashing import hash_bytes

    return hash_bytes(path.read_bytes())


def _first_difference(original: dict, result: RunResult, old_output: Path,
                      tolerance: Tolerance) -> Difference | None:
    import nbformat

    if result.status != original.get("status"):
        # Each side speaks for itself: its own error message, or its status when it has none.
        new_error = result.receipt.get("error") or {}
        old_error = original.get("error") or {}
        located = new_error if new_error.get("cell") is not None else old_error
        return Difference(located.get("cell"), located.get("cell_id"),
                          f"the run {result.status}, the original {original.get('status')}",
                          str(old_error.get("message") or original.get("status")),
                          str(new_error.get("message") or result.status), locate=False)
    expected = nbformat.read(old_output, as_version=4)
    actual = nbformat.read(result.output_path, as_version=4)
    return compare_notebooks(expected, actual, tolerance)
