"""Export to Kubeflow Pipelines: KFP DSL code generated per pipeline, compiled by the kfp SDK.

Each step becomes a container component running ``nbprod pipeline run --only STEP`` in an
image that holds the project (``image`` in ``[tool.nbprod.pipeline]``); pipeline parameters
become KFP pipeline inputs, passed to the steps that take them. The DSL is compiled by
``kfp.compiler.Compiler`` into the IR YAML that Kubeflow Pipelines runs.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

from ..errors import ExportError, MissingDependencyError
from .exports import header, identifier, step_parameters
from .plan import Plan

__all__ = ["export_kfp", "kfp_source"]

_TYPES = {"int": "int", "float": "float", "bool": "bool", "str": "str", "list": "list",
          "dict": "dict"}


def kfp_source(plan: Plan, *, image: str = "python:3.11-slim") -> str:
    """The KFP DSL (Python) that describes ``plan``; ``export_kfp`` compiles it."""
    params = {p.name: p for p in plan.pipeline.parameters}
    used = [p for p in params.values()
            if any(p.name in step_parameters(plan, s) for s in plan.order)]
    lines = [header(plan).rstrip("\n"), "from kfp import dsl", "", f"IMAGE = {image!r}", ""]
    for name in plan.order:
        takes = step_parameters(plan, name)
        signature = ", ".join(f"{p}: {_type(params[p].type, params[p].default)}" for p in takes)
        args = ", ".join(f'"-p", "{p}", {p}' for p in takes)
        lines += [
            "",
            "@dsl.container_component",
            f"def {identifier(name)}({signature}):",
            f'    """Step {name!r}: {_what(plan, name)}."""',
            "    return dsl.ContainerSpec(",
            "        image=IMAGE,",
            f'        command=["nbprod", "pipeline", "run", "--only", {name!r}],',
            f"        args=[{args}],",
            "    )",
            "",
        ]
    # Python wants the inputs without a default first.
    used.sort(key=lambda p: p.default is not None and not p.required)
    signature = ", ".join(_pipeline_arg(p) for p in used)
    lines += ["", f"@dsl.pipeline(name={_kfp_name(plan.pipeline.name)!r})",
              f"def pipeline({signature}):"]
    for name in plan.order:
        call = ", ".join(f"{p}={p}" for p in step_parameters(plan, name))
        task = f"t_{identifier(name)}"
        ups = [f"t_{identifier(u)}" for u in plan.upstream.get(name, ())]
        after = f".after({', '.join(ups)})" if ups else ""
        lines.append(f"    {task} = {identifier(name)}({call}){after}")
        lines.append(f"    {task}.set_display_name({name!r})")
    return "\n".join(lines) + "\n"


def export_kfp(plan: Plan, *, root: Path, image: str = "python:3.11-slim") -> str:
    """Compile ``plan`` to a Kubeflow Pipelines YAML with the kfp SDK; return its text.

    Raises
    ------
    MissingDependencyError
        When the kfp SDK is not installed.
    ExportError
        When the kfp compiler refuses the pipeline.
    """
    try:
        from kfp import compiler
    except ImportError:
        raise MissingDependencyError("kfp", "kfp", "the Kubeflow Pipelines export") from None
    del root  # the image holds the project; nothing in the YAML depends on this machine
    source = kfp_source(plan, image=image)
    with tempfile.TemporaryDirectory(prefix="nbprod-kfp-") as tmp:
        module_path = Path(tmp) / "nbprod_kfp_pipeline.py"
        module_path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("nbprod_kfp_pipeline", module_path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            target = Path(tmp) / "pipeline.yaml"
            compiler.Compiler().compile(module.pipeline, str(target))
        except Exception as exc:  # kfp raises plain exceptions for what it cannot compile
            raise ExportError(
                f"kfp cannot compile pipeline {plan.pipeline.name!r}: {type(exc).__name__}: {exc}"
            ) from None
        return header(plan) + target.read_text(encoding="utf-8")


def _type(annotation: str | None, default: object) -> str:
    base = (annotation or "").split("[")[0].strip()
    if base in _TYPES:
        return _TYPES[base]
    if isinstance(default, bool):
        return "bool"
    for kind in (int, float, str, list, dict):
        if isinstance(default, kind):
            return kind.__name__
    return "str"


def _pipeline_arg(param) -> str:
    kind = _type(param.type, param.default)
    if param.default is None or param.required:
        return f"{param.name}: {kind}"
    return f"{param.name}: {kind} = {param.default!r}"


def _what(plan: Plan, name: str) -> str:
    step = plan.step(name)
    return f"runs {step.notebook}" if step.notebook else f"calls {step.function}"


def _kfp_name(name: str) -> str:
    # KFP pipeline names become Kubernetes resource names: lower case, digits and dashes.
    text = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return text or "nbprod-pipeline"
