"""The ``step:<name>`` cells of one notebook as a pipeline, through the step exporter.

The exporter's artifacts are generated in memory, so ``nbprod pipeline run NOTEBOOK`` always
runs the notebook's current code, whether or not ``nbprod export`` was run since it changed.
The generated module sources travel with each task to the workers.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..config import ProjectConfig
from ..errors import NbprodError, PipelineError
from ..fsutil import resolve_inside
from ..notebook import load
from ..pipeline_ir import Pipeline

__all__ = ["pipeline_from_notebook"]


def pipeline_from_notebook(
    project: ProjectConfig, notebook: Path, name: str | None
) -> tuple[Pipeline, dict[str, str]]:
    """The pipeline of ``notebook``'s step cells and the generated module sources it calls.

    Returns
    -------
    (Pipeline, dict)
        The pipeline, and dotted module name -> source for the exported module (if the
        notebook has ``export`` cells) and the step module, in import order.

    Raises
    ------
    PipelineError
        When the notebook has no ``step:<name>`` cells.
    ExportError
        When the steps cannot be exported (the exporter's message names the cells).
    """
    from ..export.config import ExportConfig, resolve_layout
    from ..export.module import ModuleExporter
    from ..export.steps import StepsExporter

    path = notebook if notebook.is_absolute() else Path.cwd() / notebook
    if not path.is_file():
        try:
            path = resolve_inside(project.root, str(notebook))
        except NbprodError:
            pass
    if not path.is_file():
        raise PipelineError(f"{notebook}: no such notebook")
    nb = load(path)
    layout = resolve_layout(path, nb.default_exp, project.section("export", ExportConfig),
                            project.root)
    step_artifacts = StepsExporter().export(nb, layout)
    if not step_artifacts:
        if any(cell.step for cell in nb.cells):
            raise PipelineError(
                f"{layout.notebook}: every step cell was left out (see the warnings above:"
                " each says why and what to change)")
        raise PipelineError(
            f"{layout.notebook}: no cell is tagged step:<name>; tag the cells of each step"
            " (e.g. step:prepare, step:train) or list notebooks in [[tool.nbprod.pipeline.steps]]"
        )
    modules: dict[str, str] = {}
    for artifact in ModuleExporter().export(nb, layout):
        if artifact.path == layout.module_path:
            modules[layout.module_import] = artifact.text
    module_text, pipeline_json = step_artifacts[0].text, step_artifacts[1].text
    modules[layout.pipeline_import] = module_text
    data = json.loads(pipeline_json)
    data.pop("generated", None)
    data.pop("schema", None)
    pipeline = Pipeline.from_dict(data)
    if name:
        pipeline = Pipeline(name=name, steps=pipeline.steps, parameters=pipeline.parameters,
                            source=pipeline.source)
    return pipeline, modules
