"""One step of a pipeline, run by itself: how orchestrators run nbprod pipelines.

Airflow and Kubeflow run each step as a task of their own, possibly on machines that share
no disk with each other. ``nbprod pipeline step`` runs one step there: it reads what its
upstream steps produced from folders the orchestrator hands it (a KFP input artifact, an
object-storage prefix for Airflow) and writes what it produces into a folder the orchestrator
passes on. A hand-off folder holds:

- ``values/<name>.pkl``: each value the step hands to later steps (function steps), pickled;
- ``files/<path>``: the files it wrote, at their paths relative to the project root;
- ``result.json``: the step's status, error, what it printed and what it recorded
  (``nbprod.record``).

Upstream files are put back at their project paths before the step runs, so a notebook step
that reads ``data/clean.txt`` written by the step before it finds it, wherever that ran.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from pathlib import Path

from ..errors import PipelineError
from ..fsutil import atomic_write, resolve_inside
from .build import PipelineSource
from .plan import Plan
from .reach import local_module_finder
from .worker import StepTask, TaskResult, run_task

__all__ = ["read_values", "run_step_alone"]

VALUES, FILES, RESULT = "values", "files", "result.json"


def run_step_alone(plan: Plan, source: PipelineSource, *, root: Path, step: str,
                   inputs: Mapping[str, Path], output: Path, timeout: float | None = None,
                   kernel: str | None = None) -> TaskResult:
    """Run ``step`` of ``plan`` with its upstream results from ``inputs``; write ``output``.

    Parameters
    ----------
    inputs:
        Upstream step name -> the hand-off folder that step wrote.
    output:
        The hand-off folder to write (created).

    Raises
    ------
    PipelineError
        When an upstream step's folder is missing or lacks a value this step takes.
    """
    root = root.resolve()
    spec = plan.step(step)
    missing = [u for u in plan.upstream[step] if u not in inputs]
    if missing:
        raise PipelineError(
            f"step {step!r} needs what {', '.join(map(repr, missing))} produced: pass"
            f" --input {missing[0]}=FOLDER (the folder that step wrote with --output)")
    for folder in inputs.values():
        _restore_files(folder, root)
    parameters = dict(plan.parameters[step])
    if spec.notebook:
        declared = {p: (root / p).read_bytes() for p in spec.inputs if (root / p).is_file()}
        task = StepTask(step, str(root), notebook=spec.notebook,
                        notebook_bytes=(root / spec.notebook).read_bytes(),
                        parameters=parameters, outputs=spec.outputs, input_files=declared,
                        timeout=timeout, kernel=kernel)
    else:
        module = (spec.function or "").partition(":")[0]
        modules = dict(source.modules)
        if module not in modules:
            found = local_module_finder(root, modules)(module)
            if found is None:
                raise PipelineError(f"cannot find the step module {module!r} under {root}")
            modules[module] = found[0]
        args = {arg: read_values(inputs[producer])[arg]
                for arg, producer in plan.producers[step].items()}
        where = plan.pipeline.source
        task = StepTask(step, str(root), function=spec.function, modules=modules,
                        parameters=parameters, args=args, returns=spec.returns,
                        cwd=str((root / where).parent) if where else None)
    result = run_task(task)
    _write(output, result, root, [*spec.outputs, *result.written])
    return result


def read_values(folder: Path) -> dict[str, object]:
    """The values an upstream step handed on, from its hand-off folder."""
    values = folder / VALUES
    if not values.is_dir():
        return {}
    return {path.stem: pickle.loads(path.read_bytes()) for path in sorted(values.glob("*.pkl"))}


def _restore_files(folder: Path, root: Path) -> None:
    files = folder / FILES
    if not folder.is_dir():
        raise PipelineError(f"hand-off folder {folder} does not exist")
    if not files.is_dir():
        return
    for path in sorted(files.rglob("*")):
        if path.is_file():
            relative = path.relative_to(files).as_posix()
            atomic_write(resolve_inside(root, relative), path.read_bytes())


def _write(output: Path, result: TaskResult, root: Path, produced: list[str]) -> None:
    output.mkdir(parents=True, exist_ok=True)
    for name, value in result.values.items():
        atomic_write(output / VALUES / f"{name}.pkl", pickle.dumps(value))
    files = dict(result.files)
    for relative in produced:
        path = root / relative
        if relative not in files and path.is_file():
            files[relative] = path.read_bytes()
    for relative, data in files.items():
        atomic_write(resolve_inside(output / FILES, relative), data)
    atomic_write(output / RESULT, json.dumps({
        "step": result.name, "status": result.status, "error": result.error,
        "stdout": result.stdout, "values": sorted(result.values), "files": sorted(files),
        "records": result.records or (result.receipt or {}).get("records") or {},
    }, indent=2, default=str))
