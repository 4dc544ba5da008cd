"""Export to Kubeflow Pipelines: KFP DSL code generated per pipeline, compiled by the kfp SDK.

Each step becomes a lightweight Python component that runs ``nbprod pipeline step`` for its
step of the notebook (or of the project's ``[tool.nbprod.pipeline]``), in an image that holds
nbprod and the project (``image`` in ``[tool.nbprod.pipeline]``; the project's folder there
is ``NBPROD_PROJECT``, by default the folder it was exported from). What a step produces
(values, files) is its output artifact ``result``; each downstream step takes its upstream
steps' artifacts as inputs, so values travel between pods through KFP's own artifact store,
never through a shared folder. Pipeline parameters become KFP pipeline inputs. The DSL is
compiled by ``kfp.compiler.Compiler`` into the IR YAML that Kubeflow Pipelines runs, and that
kfp's local runner (``kfp.local``, subprocess runner) runs too.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

from ..errors import ExportError, MissingDependencyError
from .plan import Plan
from .targets import header, identifier, step_parameters

__all__ = ["export_kfp", "kfp_source"]

_TYPES = {"int": "int", "float": "float", "bool": "bool", "str": "str", "list": "list",
          "dict": "dict"}


def kfp_source(plan: Plan, *, image: str = "python:3.11-slim", root: Path | None = None) -> str:
    """The KFP DSL (Python) that describes ``plan``; ``export_kfp`` compiles it."""
    params = {p.name: p for p in plan.pipeline.parameters}
    used = [p for p in params.values()
            if any(p.name in step_parameters(plan, s) for s in plan.order)]
    source = plan.pipeline.source or ""
    notebook = [source] if source.endswith(".ipynb") else []
    lines = [header(plan).rstrip("\n"), "from kfp import dsl",
             "from kfp.dsl import Artifact, Input, Output", "", f"IMAGE = {image!r}", ""]
    for name in plan.order:
        takes = step_parameters(plan, name)
        upstream = list(plan.upstream.get(name, ()))
        inputs = [f"in_{identifier(u)}: Input[Artifact]" for u in upstream]
        values = [f"{p}: {_type(params[p].type, params[p].default)}" for p in takes]
        signature = ", ".join([*inputs, "result: Output[Artifact]", *values])
        lines += [
            "",
            "@dsl.component(base_image=IMAGE, install_kfp_package=False)",
            f"def {identifier(name)}({signature}):",
            f'    """Step {name!r}: {_what(plan, name)}."""',
            "    import os",
            "    import shlex",
            "    import subprocess",
            "",
            f"    project = os.environ.get('NBPROD_PROJECT', {str(root or '/project')!r})",
            "    command = shlex.split(os.environ.get('NBPROD_COMMAND', 'nbprod'))",
            f"    args = ['pipeline', 'step', {''.join(repr(n) + ', ' for n in notebook)}"
            f"'--step', {name!r}, '--output', result.path]",
        ]
        for up in upstream:
            lines.append(f"    args += ['--input', {up + '='!r} + in_{identifier(up)}.path]")
        for p in takes:
            lines.append(f"    args += ['-p', {p!r}, str({p})]")
        lines += ["    subprocess.run([*command, *args], cwd=project, check=True)", ""]
    # Python wants the inputs without a default first.
    used.sort(key=lambda p: p.default is not None and not p.required)
    signature = ", ".join(_pipeline_arg(p) for p in used)
    lines += ["", f"@dsl.pipeline(name={_kfp_name(plan.pipeline.name)!r})",
              f"def pipeline({signature}):"]
    for name in plan.order:
        call = [f"in_{identifier(u)}=t_{identifier(u)}.outputs['result']"
                for u in plan.upstream.get(name, ())]
        call += [f"{p}={p}" for p in step_parameters(plan, name)]
        task = f"t_{identifier(name)}"
        lines.append(f"    {task} = {identifier(name)}({', '.join(call)})")
        lines.append(f"    {task}.set_display_name({name!r})")
        lines.append(f"    {task}.set_caching_options(False)  # nbprod's own cache decides")
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
    source = kfp_source(plan, image=image, root=root)
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
