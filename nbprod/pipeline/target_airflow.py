"""Export to Airflow 3: a DAG file written with TaskFlow (``airflow.sdk``).

A pipeline becomes one ``@task`` per step, wired in the pipeline's dependency order, each
running ``nbprod pipeline step`` for its step of the notebook (or of the project's
``[tool.nbprod.pipeline]``) that the DAG names. What a step produces (values, files) goes to a
hand-off location that every worker can reach: ``NBPROD_HANDOFF`` (an Airflow Variable or an
environment variable), any path ``ObjectStoragePath`` understands (``s3://bucket/nbprod``
with an Airflow connection, ``file:///shared/nbprod``), by DAG and run id; the next step reads
it from there. Pipeline parameters become DAG ``params``.
A sweep becomes one mapped task (dynamic task mapping: ``run_point.expand(parameters=...)``),
one task instance per point, each running ``nbprod run NOTEBOOK -p ...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .plan import Plan
from .targets import header, identifier, step_parameters

__all__ = ["export_airflow", "export_sweep_airflow"]

_PRELUDE = '''
import os
import shlex
import subprocess

import pendulum
from airflow.sdk import dag, get_current_context, task

# The project as the workers see it, and how they call nbprod there.
PROJECT = os.environ.get("NBPROD_PROJECT", {root!r})
NBPROD = shlex.split(os.environ.get("NBPROD_COMMAND", "nbprod"))


def nbprod(*args: str) -> None:
    """Run nbprod in the project; a failing step fails the task."""
    subprocess.run([*NBPROD, *args], cwd=PROJECT, check=True)


def parameter_args(names, params) -> list[str]:
    args = []
    for name in names:
        args += ["-p", name, str(params[name])]
    return args
'''

_HANDOFF = '''

NOTEBOOK = {notebook!r}  # None: the steps of [tool.nbprod.pipeline] in pyproject.toml


def handoff(context):
    """Where this DAG run's steps leave their results for the steps after them."""
    from airflow.sdk import ObjectStoragePath, Variable

    default = os.environ.get("NBPROD_HANDOFF") or "file://" + os.path.join(
        PROJECT, ".nbprod", "handoff")
    base = ObjectStoragePath(Variable.get("NBPROD_HANDOFF", default=default))
    return base / context["dag"].dag_id / context["run_id"].replace(":", "_")


def run_step(step, upstream, names):
    """``nbprod pipeline step``: fetch the upstream results, run, publish the results."""
    import pathlib
    import tempfile

    context = get_current_context()
    base = handoff(context)
    with tempfile.TemporaryDirectory(prefix="nbprod-") as scratch:
        args = []
        for name in upstream:
            local = pathlib.Path(scratch, "in", name)
            remote = base / name
            prefix = remote.path.rstrip("/") + "/"
            for item in remote.rglob("*"):
                if item.is_file():
                    target = local / item.path[len(prefix):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(item.read_bytes())
            args += ["--input", f"{{name}}={{local}}"]
        out = pathlib.Path(scratch, "out")
        notebook = [NOTEBOOK] if NOTEBOOK else []
        nbprod("pipeline", "step", *notebook, "--step", step, "--output", str(out), *args,
               *parameter_args(names, context["params"]))
        for item in out.rglob("*"):
            if item.is_file():
                target = base / step / item.relative_to(out).as_posix()
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(item.read_bytes())
'''


def export_airflow(plan: Plan, *, root: Path) -> str:
    """The text of an Airflow 3 DAG file that runs ``plan``, one task per step."""
    params = {p.name: p.default for p in plan.pipeline.parameters
              if any(p.name in step_parameters(plan, s) for s in plan.order)}
    dag_id = identifier(plan.pipeline.name)
    notebook = plan.pipeline.source if _from_notebook(plan) else None
    lines = [header(plan).rstrip("\n"), _PRELUDE.format(root=str(root)).rstrip("\n"),
             _HANDOFF.format(notebook=notebook).rstrip("\n"), "", ""]
    lines += [
        f"@dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1),",
        f"     catchup=False, params={params!r}, tags=['nbprod'])",
        f"def {dag_id}_dag():",
    ]
    for name in plan.order:
        takes = step_parameters(plan, name)
        upstream = list(plan.upstream.get(name, ()))
        lines += [
            f"    @task(task_id={name!r})",
            f"    def {identifier(name)}():",
            f'        """Step {name!r}."""',
            f"        run_step({name!r}, {upstream!r}, {takes!r})",
            "",
        ]
    for name in plan.order:
        lines.append(f"    t_{identifier(name)} = {identifier(name)}()")
    for name in plan.order:
        for up in plan.upstream.get(name, ()):
            lines.append(f"    t_{identifier(up)} >> t_{identifier(name)}")
    lines += ["", "", f"{dag_id}_dag()"]
    return "\n".join(lines) + "\n"


def _from_notebook(plan: Plan) -> bool:
    """Whether the pipeline is a notebook's step cells (not pyproject's list of notebooks)."""
    return (plan.pipeline.source or "").endswith(".ipynb")


def export_sweep_airflow(notebook: str, points: Sequence[Mapping[str, Any]], *, root: Path,
                         name: str) -> str:
    """The text of an Airflow 3 DAG file that runs a sweep with dynamic task mapping.

    Parameters
    ----------
    notebook:
        The notebook, relative to the project root.
    points:
        One parameter mapping per run.
    root:
        The project root (the default working folder of the tasks).
    name:
        The DAG id (made into an identifier).

    Raises
    ------
    ConfigError
        When a point holds a secret parameter (``api_token``, a recognised credential).
    """
    from ..errors import ConfigError
    from ..params.redact import secret_parameters

    secret = sorted({n for point in points for n in secret_parameters(point)})
    if secret:
        raise ConfigError(
            f"sweep of {notebook}: parameter {secret[0]!r} holds a secret, which the DAG file"
            " would spell out; leave it out of the sweep and let the notebook read it from the"
            " environment (an Airflow Variable or Connection exported to the task)")
    dag_id = identifier(name)
    lines = [
        f"# Generated by nbprod from a sweep of {notebook} ({len(points)} runs).",
        "# Do not edit: run `nbprod sweep ... --export airflow` again.",
        _PRELUDE.format(root=str(root)).rstrip("\n"),
        "",
        f"NOTEBOOK = {notebook!r}",
        f"POINTS = {[dict(p) for p in points]!r}",
        "",
        "",
        f"@dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1),",
        "     catchup=False, tags=['nbprod', 'sweep'])",
        f"def {dag_id}_dag():",
        "    @task(task_id='run_point')",
        "    def run_point(parameters: dict):",
        '        """One run of the sweep, recorded with its receipt."""',
        "        nbprod(\"run\", NOTEBOOK, *parameter_args(sorted(parameters), parameters))",
        "",
        "    run_point.expand(parameters=POINTS)",
        "",
        "",
        f"{dag_id}_dag()",
    ]
    return "\n".join(lines) + "\n"
