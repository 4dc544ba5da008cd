"""``nbprod pipeline run|show|status|export``: pipelines from step cells or from pyproject."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

from ..config import load_project_config
from ..errors import NbprodWarning
from ..pipeline.config import load_pipeline_config
from .emit import emit

__all__ = ["pipeline_group"]


def _prepare(notebook: Path | None, params: tuple[tuple[str, str], ...], only=(), start=None,
             **overrides):
    """Config, pipeline source and plan: every check that needs no execution, in one place."""
    from ..pipeline.build import build_pipeline
    from ..pipeline.plan import plan_pipeline

    project = load_project_config(notebook if notebook is not None else Path.cwd())
    config = load_pipeline_config(project, **overrides)
    # Cells of a step notebook that cannot become step code are left out with a reason
    # (as `nbprod export` says them): say each once here too, never silently.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NbprodWarning)
        try:
            source = build_pipeline(project, config, notebook)
        finally:  # also before an error they explain (every step cell left out)
            for message in dict.fromkeys(str(w.message) for w in caught
                                         if issubclass(w.category, NbprodWarning)):
                click.echo(f"warning: {message}", err=True)
    plan = plan_pipeline(source.pipeline, root=project.root, only=only, start=start,
                         overrides=dict(params))
    return project, config, source, plan


def _store(project):
    from ..store import open_project_store

    return open_project_store(project.root)


notebook_argument = click.argument(
    "notebook", required=False, type=click.Path(path_type=Path, dir_okay=False))
param_option = click.option(
    "-p", "--parameter", "params", multiple=True, type=(str, str), metavar="NAME VALUE",
    help="Set a pipeline parameter for every step that takes it (repeatable).")


@click.group("pipeline")
def pipeline_group() -> None:
    """Run, draw, inspect and export pipelines.

    The steps come from the step:<name> cells of NOTEBOOK, or else from
    [tool.nbprod.pipeline] in pyproject.toml (a notebook, or [[...steps]] tables).
    """


@pipeline_group.command("run")
@notebook_argument
@click.option("--only", multiple=True, metavar="STEP",
              help="Run only this step (repeatable); its upstream steps must be cached.")
@click.option("--from", "start", metavar="STEP", help="Run this step and everything after it.")
@click.option("--executor", help="local (default) or dask.")
@click.option("--cluster", metavar="tcp://HOST:PORT", help="Dask scheduler address.")
@click.option("--max-parallel", type=click.IntRange(min=0), default=None,
              help="Most steps at once (0: one per core).")
@click.option("--force", is_flag=True, help="Run the selected steps even when cached.")
@click.option("--timeout", type=float, default=None, help="Per-cell limit of notebook steps (s).")
@param_option
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def run_command(notebook, only, start, executor, cluster, max_parallel, force, timeout, params,
                output_format):
    """Run the pipeline: cached steps are skipped, the others run in dependency order.

    Exit codes: 0 every step succeeded or was cached, 1 a step failed, 2 bad input (a cycle,
    an unknown step or parameter, an input no step produces), 3 the machinery failed.
    """
    from ..params.redact import mask_known, secret_values
    from ..pipeline.executors import executor_registry
    from ..pipeline.orchestrate import run_pipeline
    from .progress import LiveProgress

    project, config, source, plan = _prepare(
        notebook, params, only, start, executor=executor, cluster=cluster,
        max_parallel=max_parallel, timeout=timeout)
    factory = executor_registry.get(config.executor)
    runner = factory(max_parallel=config.max_parallel, cluster=config.cluster,
                     retries=config.retries)
    store = _store(project)
    with LiveProgress(len(plan.selected), f"pipeline {plan.pipeline.name}",
                      quiet=output_format == "json") as progress:
        result = run_pipeline(plan, source, runner, root=project.root, store=store, force=force,
                              parameters=dict(params), timeout=config.timeout,
                              pinned=config.pinned, models=config.models, on_event=progress)
    # A step's error message may quote a secret parameter (-p password ...): never shown.
    secret = secret_values(dict(params))
    if output_format == "json":
        click.echo(json.dumps({
            "pipeline": result.pipeline, "run_id": result.run_id, "ok": result.ok,
            "steps": [{"name": n, "status": o.status, "run_id": o.run_id,
                       "message": mask_known(o.message, secret)}
                      for n, o in result.outcomes.items()]}, indent=2))
    else:
        # On a terminal the progress display already drew one line per step; a pipe or a
        # file gets them here, on stdout, so nothing is shown twice.
        if not (progress.shows_results and sys.stdout.isatty()):
            for name, outcome in result.outcomes.items():
                message = mask_known(outcome.message, secret)
                click.echo(f"{outcome.status:>9}  {name}  {message}".rstrip())
        counts: dict[str, int] = {}
        for outcome in result.outcomes.values():
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        click.echo(f"pipeline {result.pipeline} ({result.run_id}): {summary}", err=True)
    return result.exit_code


@pipeline_group.command("show")
@notebook_argument
@click.option("--output-format", "--format", "fmt",
              type=click.Choice(["text", "mermaid", "svg", "json"]), default="text",
              show_default=True,
              help="text, Mermaid (for Markdown docs), SVG, or JSON (the steps, their edges and"
                   " cache state, and the SVG; --format is the old name).")
@click.option("--status", "with_status", is_flag=True,
              help="Mark each step cached or would-run (computes the cache keys).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file instead of stdout.")
def show_command(notebook, fmt, with_status, output):
    """Draw the pipeline's DAG as text, Mermaid or SVG."""
    from ..pipeline.render import render

    project, config, source, plan = _prepare(notebook, ())
    states = {}
    if with_status or fmt == "json":
        from ..pipeline.orchestrate import PipelineRunner

        states = PipelineRunner(plan, source, root=project.root, store=_store(project),
                                pinned=config.pinned).status()
    notes = {name: "cached" if state.cached else "would run" for name, state in states.items()}
    if fmt == "json":
        click.echo(json.dumps({
            "name": plan.pipeline.name,
            "steps": [{"name": name, "upstream": list(plan.upstream.get(name, ())),
                       "runs": plan.step(name).notebook or plan.step(name).function,
                       "cached": states[name].cached, "reason": states[name].reason,
                       "run_id": states[name].cached_run} for name in plan.order],
            "svg": render(plan, "svg", notes)}, indent=2))
        return 0
    emit(render(plan, fmt, notes), output)
    return 0


@pipeline_group.command("status")
@notebook_argument
@param_option
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def status_command(notebook, params, output_format):
    """Say which steps are cached and why the others would run."""
    from ..pipeline.orchestrate import PipelineRunner

    project, config, source, plan = _prepare(notebook, params)
    runner = PipelineRunner(plan, source, root=project.root, store=_store(project),
                            pinned=config.pinned)
    states = runner.status()
    if output_format == "json":
        click.echo(json.dumps([{"name": s.name, "cached": s.cached, "reason": s.reason,
                                "run_id": s.cached_run, "key": s.parts.key}
                               for s in states.values()], indent=2))
        return 0
    width = max(len(n) for n in states)
    for state in states.values():
        what = f"cached (run {state.cached_run})" if state.cached else f"would run: {state.reason}"
        click.echo(f"{state.name:<{width}}  {what}")
    return 0


@pipeline_group.command("step")
@notebook_argument
@click.option("--step", "step", required=True, metavar="NAME", help="The step to run.")
@click.option("--input", "inputs", multiple=True, metavar="STEP=FOLDER",
              help="The hand-off folder an upstream step wrote (repeatable).")
@click.option("--output", "output", required=True, metavar="FOLDER",
              type=click.Path(path_type=Path, file_okay=False),
              help="The hand-off folder to write: values, files and result.json.")
@click.option("--timeout", type=float, default=None, help="Per-cell limit of a notebook step (s).")
@param_option
def step_command(notebook, step, inputs, output, timeout, params):
    """Run one step by itself, as an orchestrator's task does (Airflow, Kubeflow).

    What upstream steps produced comes from their hand-off folders (--input), what this step
    produces goes to --output; nothing is read from or written to a run store, so each task
    can run on its own machine. `nbprod pipeline export` writes DAGs that call this.

    Exit codes: 0 the step succeeded, 1 it failed, 2 bad input, 3 the machinery failed.
    """
    from ..errors import ConfigError
    from ..pipeline.handoff import run_step_alone

    folders = {}
    for text in inputs:
        name, sep, folder = text.partition("=")
        if not sep or not name or not folder:
            raise ConfigError(f"--input {text!r}: write STEP=FOLDER")
        folders[name] = Path(folder)
    project, config, source, plan = _prepare(notebook, params, only=(step,))
    result = run_step_alone(plan, source, root=project.root, step=step, inputs=folders,
                            output=output, timeout=timeout or config.timeout)
    if result.stdout:
        click.echo(result.stdout.rstrip("\n"))
    if result.status == "succeeded":
        click.echo(f"step {step} succeeded; results in {output}", err=True)
        return 0
    from ..pipeline.worker import describe_error

    click.echo(f"error: step {step} {result.status}: {describe_error(result.error)}", err=True)
    return 1 if result.status == "failed" else 3


@pipeline_group.command("export")
@notebook_argument
@click.option("--to", "target", type=click.Choice(["kfp", "airflow", "script"]), required=True,
              help="kfp: Kubeflow Pipelines YAML; airflow: an Airflow 3 DAG file; script: Python.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file instead of stdout.")
def export_command(notebook, target, output):
    """Export the pipeline to Kubeflow Pipelines, Airflow or a plain Python script."""
    from ..pipeline.targets import export_pipeline

    project, config, _, plan = _prepare(notebook, ())
    options = {"image": config.image} if target == "kfp" else {}
    text = export_pipeline(plan, target, root=project.root, **options)
    emit(text, output)
    return 0
