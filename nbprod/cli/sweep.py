"""``nbprod sweep NOTEBOOK -p lr 0.1,0.01 ...``: many runs of one notebook, with a summary."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from ..config import load_project_config
from ..errors import ConfigError, PathError
from .emit import emit

__all__ = ["sweep_command"]


@click.command("sweep")
@click.argument("notebook", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("-p", "--parameter", "params", multiple=True, type=(str, str),
              metavar="NAME VALUES",
              help="Values to sweep, comma-separated; a list or mapping in brackets is one"
                   " value (repeatable).")
@click.option("--grid", "mode", flag_value="grid", help="Every combination (the default).")
@click.option("--zip", "mode", flag_value="zip", help="The i-th values of each list together.")
@click.option("-f", "--file", "sweep_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A sweep YAML file (notebook, mode, parameters, runs).")
@click.option("--max-parallel", type=click.IntRange(min=0), default=None,
              help="Most runs at once (0: one per core).")
@click.option("--executor", help="local (default) or dask.")
@click.option("--cluster", metavar="tcp://HOST:PORT", help="Dask scheduler address.")
@click.option("--timeout", type=float, default=None, help="Per-cell limit in seconds.")
@click.option("--output-format", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True, help="Format of the summary table on stdout.")
@click.option("--export", "export_to", type=click.Choice(["airflow"]), default=None,
              help="Write an Airflow DAG (dynamic task mapping) instead of running.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="With --export: the file to write.")
@click.option("--report", "report_to", is_flag=False, flag_value="", default=None,
              metavar="[FILE]",
              help="Also write the sweep's HTML report (default: nbprod-report-<SWEEP>.html).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def sweep_command(notebook, params, mode, sweep_file, max_parallel, executor, cluster, timeout,
                  output_format, export_to, output, report_to, quiet):
    """Run NOTEBOOK once per combination of parameter values.

    Each run gets its own receipt; failed runs are listed with their error while the others
    go on. The summary shows each run's parameters next to the values the notebook records
    with nbprod.record(name, value).

    Ctrl-C (or SIGTERM) stops the whole sweep: runs not started yet are not started.

    Exit codes: 0 every run succeeded, 1 a run failed, 2 bad input, 3 the machinery failed
    or the sweep was interrupted.
    """
    from ..notebook import loads, read_bytes
    from ..params.coerce import schema, split_values
    from ..pipeline.config import load_sweep_config
    from ..pipeline.executors import executor_registry
    from ..pipeline.sweep import NOT_STARTED, check_points, expand, load_sweep_file, run_sweep
    from ..store import open_project_store

    spec = load_sweep_file(sweep_file) if sweep_file else None
    if notebook is None and spec is not None and spec.notebook:
        notebook = (sweep_file.parent / spec.notebook)
    if notebook is None:
        raise ConfigError("no notebook: give NOTEBOOK or 'notebook:' in the sweep file")
    if not notebook.is_file():
        raise ConfigError(f"{notebook}: no such notebook")
    project = load_project_config(notebook)
    config = load_sweep_config(
        project, mode=mode or (spec.mode if spec else None),
        executor=executor or (spec.executor if spec else None),
        cluster=cluster or (spec.cluster if spec else None),
        max_parallel=max_parallel if max_parallel is not None else (
            spec.max_parallel if spec else None),
        timeout=timeout)
    values = dict(spec.parameters) if spec else {}
    declared = {info.name: info.spec for info in schema(loads(read_bytes(notebook),
                                                              path=notebook))}
    for name, text in params:
        # Split at the commas outside brackets and quotes: a list or mapping is one value.
        values[name] = split_values(text, declared.get(name))
    points = expand(values, config.mode) if values else []
    points += [dict(r) for r in (spec.runs if spec else ())]
    if not points:
        raise ConfigError("nothing to sweep: give -p NAME v1,v2 ... or a sweep file with"
                          " parameters or runs")
    path = notebook.resolve()
    try:
        relative = path.relative_to(project.root).as_posix()
    except ValueError:
        raise PathError(f"{notebook} is outside the project {project.root}") from None
    # Command-line values are text, read against the schema as `nbprod run -p` reads them.
    points = check_points(read_bytes(path), relative, points,
                          texts=frozenset(name for name, _ in params))
    if export_to:
        from ..pipeline.target_airflow import export_sweep_airflow

        text = export_sweep_airflow(relative, points, root=project.root,
                                    name=f"sweep_{path.stem}")
        emit(text, output)
        return 0
    factory = executor_registry.get(config.executor)
    runner = factory(max_parallel=config.max_parallel or min(len(points), 2 * _cores()),
                     cluster=config.cluster, retries=2)
    store = open_project_store(project.root)
    from .progress import LiveProgress

    with LiveProgress(len(points), f"sweep {relative}", quiet=quiet) as progress:
        result = run_sweep(path, points, runner, root=project.root, store=store,
                           timeout=config.timeout, on_event=progress)
    click.echo(_table(result, output_format), nl=False)
    for run in result.failed:
        if run.status != NOT_STARTED:
            click.echo(f"run {run.index} {_params_text(run.parameters)}: {run.status}:"
                       f" {run.error}", err=True)
    ok = len(result.runs) - len(result.failed)
    summary = f"sweep {result.sweep_id}: {ok} of {len(result.runs)} runs succeeded"
    if result.interrupted:
        waiting = [r.index for r in result.not_started]
        click.echo(f"error: {summary}, then it was interrupted ({result.interrupted})"
                   + (f"; run{'s' if len(waiting) > 1 else ''} {_indexes(waiting)} not started"
                      if waiting else "")
                   + "; run the sweep again to run every point", err=True)
    else:
        click.echo(summary, err=True)
    if report_to is not None:
        from ..report import report
        from .runs import write_report

        html, _ = report(store, [result.sweep_id])
        write_report(html, Path(report_to) if report_to else None, result.sweep_id)
    return result.exit_code


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _indexes(numbers: list[int]) -> str:
    """``2-5, 7``: run numbers, consecutive ones as a range."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _params_text(parameters: dict) -> str:
    return " ".join(f"{k}={v!r}" for k, v in parameters.items())


def _table(result, fmt: str) -> str:
    """Parameters against recorded values, one row per run."""
    param_names = list(dict.fromkeys(k for r in result.runs for k in r.parameters))
    # A value recorded under a parameter's name (``nbprod.record("lr", lr)``) or a column's
    # own is a column of its own, not a second column of the same name showing one of them.
    taken = {"run", "status", "run_id", "error", *param_names}
    record_columns = {name: f"{name} (recorded)" if name in taken else name
                      for r in result.runs for name in r.records}
    record_names = list(record_columns.values())
    rows = [
        {"run": r.index, **{k: r.parameters.get(k) for k in param_names},
         **{column: r.records.get(name) for name, column in record_columns.items()},
         "status": r.status, "run_id": r.run_id, "error": r.error}
        for r in result.runs
    ]
    if fmt == "json":
        return json.dumps({"sweep_id": result.sweep_id, "notebook": result.notebook,
                           "parameters": param_names, "records": record_names, "runs": rows},
                          indent=2, default=str) + "\n"
    columns = ["run", *param_names, *record_names, "status", "run_id"]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*columns, "error"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    from rich.console import Console
    from rich.table import Table

    # A table compares runs at a glance: lists and mappings (recorded predictions) would
    # only show their first characters; the JSON and CSV outputs keep them.
    hidden = [column for name, column in record_columns.items()
              if any(isinstance(r.records.get(name), (list, dict)) for r in result.runs)]
    columns = [c for c in columns if c not in hidden]
    table = Table(title=f"sweep {result.sweep_id}")
    for column in columns:
        table.add_column(column, justify="right" if column != "status" else "left")
    for row in rows:
        table.add_row(*("" if row[c] is None else _short(row[c]) for c in columns))
    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    console.print(table)
    if hidden:
        console.print(f"not shown: {', '.join(hidden)} (--output-format json has them)")
    return console.file.getvalue()


def _short(value) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"
