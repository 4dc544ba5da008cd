"""Build one ``Pipeline`` from either source: notebooks listed in ``[tool.nbprod.pipeline]``,
or the ``step:<name>`` cells of one notebook (through the step exporter).

Everything that can be checked without running is checked here or in ``plan``: a missing
notebook, a step parameter the notebook does not declare, two steps with one name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ProjectConfig, suggest
from ..errors import NbprodError, PipelineError
from ..fsutil import resolve_inside
from ..notebook import Notebook, load
from ..params.cell import ParameterSpec, parameter_specs
from ..params.model import Parameter
from ..pipeline_ir import Pipeline, Step
from .config import PipelineConfig, StepConfig

__all__ = ["PipelineSource", "build_pipeline", "notebook_parameters"]


@dataclass(frozen=True)
class PipelineSource:
    """A built pipeline plus the generated module sources its function steps call."""

    pipeline: Pipeline
    modules: dict[str, str] = field(default_factory=dict)


def build_pipeline(
    project: ProjectConfig, config: PipelineConfig, notebook: str | Path | None = None
) -> PipelineSource:
    """The pipeline of the project: from ``notebook`` if given, else from the config.

    Parameters
    ----------
    project:
        The project (its root anchors every relative path).
    config:
        ``[tool.nbprod.pipeline]``.
    notebook:
        A notebook whose ``step:<name>`` cells are the steps; overrides ``config.notebook``.

    Raises
    ------
    PipelineError
        When no source is configured, both are, or a step is invalid.
    """
    source = notebook or config.notebook
    if source and config.steps and notebook is None:
        raise PipelineError(
            f"{project.pyproject}: [tool.nbprod.pipeline] has both 'notebook' and 'steps';"
            " keep one of them"
        )
    if source:
        from .notebook_source import pipeline_from_notebook

        pipeline, modules = pipeline_from_notebook(project, Path(source), config.name)
        return PipelineSource(pipeline, modules)
    if not config.steps:
        raise PipelineError(
            f"no pipeline in {project.pyproject or project.root / 'pyproject.toml'}: add"
            " [[tool.nbprod.pipeline.steps]] tables, set [tool.nbprod.pipeline] notebook ="
            " \"...\", or pass a notebook with step:<name> cells"
        )
    return PipelineSource(_from_config(project, config))


def notebook_parameters(nb: Notebook) -> list[ParameterSpec]:
    """The parameters declared in the notebook's ``parameters`` cell (none without one)."""
    cells = [c for c in nb.tagged("parameters") if c.cell_type == "code"]
    if not cells:
        return []
    cell = cells[0]
    return parameter_specs(cell.source, where=f"{nb.display_path} {cell.label}")


def _from_config(project: ProjectConfig, config: PipelineConfig) -> Pipeline:
    where = f"{project.pyproject} [[tool.nbprod.pipeline.steps]]"
    steps: list[Step] = []
    shared: dict[str, Parameter] = {}
    seen: set[str] = set()
    for entry in config.steps:
        if entry.name in seen:
            raise PipelineError(f"{where}: two steps are named {entry.name!r}; rename one")
        seen.add(entry.name)
        nb = _load_step_notebook(project, entry, where)
        declared = {s.parameter.name: s for s in notebook_parameters(nb)}
        for name in entry.parameters:
            if name not in declared:
                known = ", ".join(declared) or "none (the notebook has no parameters cell)"
                raise PipelineError(
                    f"{where} step {entry.name!r}: unknown parameter {name!r} for"
                    f" {entry.notebook}{suggest(name, list(declared))}; it declares: {known}"
                )
        # Only literal defaults are passed on: a required parameter or one whose default is
        # an expression (``today = date.today()``) reaches the notebook only when given.
        values: dict[str, Any] = {n: s.parameter.default for n, s in declared.items()
                                  if s.literal and not s.parameter.required}
        values.update(_checked(nb, entry, where))
        for spec in declared.values():
            shared.setdefault(spec.parameter.name, spec.parameter)
        steps.append(
            Step(
                name=entry.name,
                notebook=entry.notebook,
                parameters=values,
                inputs=tuple(entry.inputs),
                outputs=tuple(entry.outputs),
                needs=tuple(entry.needs),
                accepts=tuple(n for n in declared if n not in values),
            )
        )
    name = config.name or project.root.name
    return Pipeline(name=name, steps=tuple(steps), parameters=tuple(shared.values()),
                    source=str(project.pyproject.relative_to(project.root))
                    if project.pyproject else "pyproject.toml")


def _checked(nb: Notebook, entry: StepConfig, where: str) -> dict[str, Any]:
    """The step's configured parameters converted to the types the notebook declares, so a
    wrong value is refused before any step runs, as ``nbprod run`` refuses it."""
    from ..params.coerce import coerce, schema

    by_name = {info.name: info for info in schema(nb)}
    return {name: coerce(by_name[name], value, from_text=False,
                         where=f"{where} step {entry.name!r} ({entry.notebook})")
            for name, value in entry.parameters.items()}


def _load_step_notebook(project: ProjectConfig, entry: StepConfig, where: str) -> Notebook:
    try:
        path = resolve_inside(project.root, entry.notebook)
    except NbprodError as exc:
        raise PipelineError(f"{where} step {entry.name!r}: {exc}") from None
    if not path.is_file():
        raise PipelineError(
            f"{where} step {entry.name!r}: notebook {entry.notebook!r} does not exist"
            f" (paths are relative to {project.root})"
        )
    return load(path)

