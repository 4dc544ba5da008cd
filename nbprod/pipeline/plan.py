"""Plan a pipeline run: the DAG's edges, a stable order, the selection, effective parameters.

Every check that needs no execution happens here, before anything runs: a cycle (named), a
``needs`` naming no step, an unknown ``-p`` parameter, an argument or input file no step
produces, an unknown ``--only``/``--from`` step.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import suggest
from ..errors import NbprodError, PipelineError
from ..fsutil import resolve_inside
from ..params.coerce import coerce_text
from ..params.model import Parameter
from ..pipeline_ir import Pipeline, Step

__all__ = ["Plan", "plan_pipeline"]


@dataclass(frozen=True)
class Plan:
    """What a pipeline run will consider, in the order it may run.

    ``order`` holds every step of the pipeline (dependencies first, declaration order among
    steps that are ready together); ``selected`` the ones ``--only``/``--from`` picked;
    ``upstream`` the direct dependencies of each step; ``producers`` which step hands each
    argument to a function step; ``parameters`` the effective parameters of each step.
    """

    pipeline: Pipeline
    order: tuple[str, ...]
    selected: tuple[str, ...]
    upstream: Mapping[str, tuple[str, ...]]
    producers: Mapping[str, Mapping[str, str]]
    parameters: Mapping[str, Mapping[str, Any]]

    def step(self, name: str) -> Step:
        return self.pipeline.step(name)

    def typed(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """``overrides`` with each value as the steps received it (converted to its type).

        The pipeline's own receipt records these, so ``-p max_depth 3`` is the int 3 there
        as in every step's receipt, whichever executor ran the steps.
        """
        typed = dict(overrides)
        for values in self.parameters.values():
            for name in overrides:
                if name in values:
                    typed[name] = values[name]
        return typed

    def downstream(self, name: str) -> set[str]:
        """Every step that depends on ``name``, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for other, ups in self.upstream.items():
                if current in ups and other not in found:
                    found.add(other)
                    frontier.append(other)
        return found


def plan_pipeline(
    pipeline: Pipeline,
    *,
    root: Path,
    only: Iterable[str] = (),
    start: str | None = None,
    overrides: Mapping[str, str | Any] | None = None,
) -> Plan:
    """Check ``pipeline`` and plan it.

    Parameters
    ----------
    pipeline:
        The pipeline to plan.
    root:
        The project root: input files no step writes must exist under it.
    only:
        Run just these steps (``--only``); their upstream steps are taken from the cache.
    start:
        Run this step and everything downstream of it (``--from``).
    overrides:
        ``-p NAME VALUE`` pairs; a text value is converted to the parameter's declared type.

    Raises
    ------
    PipelineError
        For a cycle, an unknown step or parameter, or an input no step produces.
    """
    names = [s.name for s in pipeline.steps]
    if not names:
        raise PipelineError(f"pipeline {pipeline.name!r} has no steps")
    _check_unique(pipeline)
    upstream, producers = _edges(pipeline, root)
    order = _order(names, upstream)
    parameters = _parameters(pipeline, overrides or {})
    selected = _select(pipeline, names, upstream, list(only), start)
    ordered = tuple(n for n in order if n in selected)
    return Plan(pipeline, order, ordered, upstream, producers, parameters)


def _check_unique(pipeline: Pipeline) -> None:
    seen: set[str] = set()
    writers: dict[str, str] = {}
    for step in pipeline.steps:
        if step.name in seen:
            raise PipelineError(f"two steps are named {step.name!r}; rename one")
        seen.add(step.name)
        for path in step.outputs:
            if path in writers:
                raise PipelineError(
                    f"steps {writers[path]!r} and {step.name!r} both write {path!r};"
                    " a file must have one producer"
                )
            writers[path] = step.name


def _edges(pipeline: Pipeline, root: Path) -> tuple[dict[str, tuple[str, ...]], dict]:
    names = [s.name for s in pipeline.steps]
    writers = {path: s.name for s in pipeline.steps for path in s.outputs}
    param_names = {p.name for p in pipeline.parameters}
    upstream: dict[str, tuple[str, ...]] = {}
    producers: dict[str, dict[str, str]] = {}
    for index, step in enumerate(pipeline.steps):
        deps: list[str] = []
        for need in step.needs:
            if need not in names:
                raise PipelineError(
                    f"step {step.name!r} needs {need!r}, which is not a step of pipeline"
                    f" {pipeline.name!r}{suggest(need, names)}"
                )
            deps.append(need)
        producers[step.name] = {}
        for arg in step.args:
            producer = _last_returning(pipeline.steps[:index], arg)
            if producer is None:
                if arg in param_names or arg in step.parameters:
                    continue
                raise PipelineError(
                    f"step {step.name!r} takes {arg!r}, but no earlier step returns it; define"
                    f" it in an earlier step:<name> cell or in the parameters cell"
                )
            producers[step.name][arg] = producer
            deps.append(producer)
        for path in step.inputs:
            if path in writers:
                if writers[path] != step.name:
                    deps.append(writers[path])
                continue
            if not _exists(root, path):
                raise PipelineError(
                    f"step {step.name!r} reads {path!r}, which no step writes and which does not"
                    f" exist under {root}; add the step that writes it (outputs = [{path!r}])"
                    " or create the file"
                )
        upstream[step.name] = tuple(dict.fromkeys(deps))
    return upstream, producers


def _last_returning(steps: tuple[Step, ...], name: str) -> str | None:
    for step in reversed(steps):
        if name in step.returns:
            return step.name
    return None


def _exists(root: Path, path: str) -> bool:
    try:
        return resolve_inside(root, path).exists()
    except NbprodError:
        return False


def _order(names: list[str], upstream: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    sorter = graphlib.TopologicalSorter({n: upstream[n] for n in names})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        # graphlib reports the cycle as [a, b, ..., a] following predecessor links; reverse it
        # so it reads in the direction the data flows.
        raise PipelineError(
            "the pipeline has a cycle: " + " -> ".join(reversed(cycle))
            + "; remove one of these dependencies"
        ) from None
    position = {n: i for i, n in enumerate(names)}
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return tuple(order)


def _parameters(pipeline: Pipeline, overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    declared = {p.name: p for p in pipeline.parameters}
    accepted = {name for s in pipeline.steps for name in (*s.parameters, *s.accepts)}
    accepted |= set(declared)
    for name in overrides:
        if name not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise PipelineError(
                f"unknown parameter {name!r}{suggest(name, sorted(accepted))}: no step of"
                f" pipeline {pipeline.name!r} takes it; known parameters: {known}"
            )
    effective: dict[str, dict[str, Any]] = {}
    for step in pipeline.steps:
        values = dict(step.parameters)
        for name, value in overrides.items():
            if name in step.parameters or name in step.accepts:
                type_name = type_of(declared[name]) if name in declared else None
                values[name] = (
                    coerce_text(name, value, type_name, where=f"pipeline {pipeline.name!r}")
                    if isinstance(value, str) else value
                )
        missing = [n for n in step.accepts
                   if n not in values and n in declared and declared[n].required]
        if missing:
            raise PipelineError(
                f"step {step.name!r} of pipeline {pipeline.name!r}: required parameter"
                f" {missing[0]!r} not given; pass -p {missing[0]} VALUE, or set it in the"
                " step's parameters"
            )
        effective[step.name] = values
    return effective


def type_of(parameter: Parameter) -> str | None:
    """The declared type, else the type of the default (``n = 3``: int), as ``run`` reads it."""
    if parameter.type:
        return parameter.type
    kind = type(parameter.default)
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            tuple: "tuple", dict: "dict"}.get(kind)


def _select(
    pipeline: Pipeline,
    names: list[str],
    upstream: Mapping[str, tuple[str, ...]],
    only: list[str],
    start: str | None,
) -> set[str]:
    for name in [*only, *([start] if start else [])]:
        if name not in names:
            raise PipelineError(
                f"no step {name!r} in pipeline {pipeline.name!r}{suggest(name, names)};"
                f" steps: {', '.join(names)}"
            )
    if only and start:
        raise PipelineError("use either --only or --from, not both")
    if only:
        return set(only)
    if start:
        plan = Plan(pipeline, tuple(names), (), upstream, {}, {})
        return {start} | plan.downstream(start)
    return set(names)
