"""``nbprod run``, ``nbprod params`` and ``nbprod reproduce``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .env import source_options, sources_from, split_names
from .papermill_args import RunCommand
from .streams import echo

FORMATS = ("text", "json")


class _CellProgress:
    """Say which cell runs: a line per cell in a log, one line rewritten on a terminal.

    Used as a context manager, so the terminal line is ended before anything else is printed,
    whether the run finished, failed or raised.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.in_place = enabled and sys.stderr.isatty()
        self.line_open = False

    def __call__(self, position: int, total: int, cell) -> None:
        text = f"[{position}/{total}] {cell.label}"
        if self.in_place:
            echo(f"\r\x1b[K{text}", err=True, nl=False)
            self.line_open = True
        else:
            echo(text, err=True)

    def __enter__(self):
        return self if self.enabled else None

    def __exit__(self, *exc_info) -> None:
        if self.line_open:
            echo("", err=True)


def _open_store(start: Path, store_dir: Path | None):
    from ..store import open_project_store

    return open_project_store(start, store_dir)


@click.command("run", cls=RunCommand)
@click.argument("notebook", type=click.Path(path_type=Path))
@click.argument("output_path", required=False, metavar="[OUTPUT]")
@click.option("-p", "--parameter", "--parameters", "params", nargs=2, multiple=True,
              metavar="NAME VALUE",
              help="A parameter value (text, converted to the declared type). Repeatable.")
@click.option("-r", "--parameter-raw", "--parameters_raw", "raw_params", nargs=2,
              multiple=True, metavar="NAME VALUE",
              help="A parameter value kept as text, never parsed (papermill's -r). Repeatable.")
@click.option("-f", "--parameters-file", "--parameters_file", "parameter_files", multiple=True,
              type=click.Path(path_type=Path),
              help="A YAML file of parameter values. Repeatable; later files win, -y, -p and"
                   " -r values win over files.")
@click.option("-y", "--parameters-yaml", "--parameters_yaml", "yaml_params", multiple=True,
              metavar="YAML", help="Parameter values as a YAML mapping. Repeatable.")
@click.option("-b", "--parameters-base64", "--parameters_base64", "base64_params",
              multiple=True, metavar="BASE64",
              help="Parameter values as a base64-encoded YAML mapping. Repeatable.")
@click.option("--cwd", type=click.Path(path_type=Path),
              help="Working directory of the kernel (default: the notebook's folder).")
@click.option("--timeout", "--execution-timeout", type=click.FloatRange(min=0, min_open=True),
              help="Per-cell time limit in seconds.")
@click.option("-k", "--kernel", help="Kernel name (default: the notebook's kernelspec).")
@click.option("-o", "--output", metavar="PATH",
              help="Also copy the executed notebook here (never over a source notebook).")
@click.option("--store", "store_dir", type=click.Path(path_type=Path),
              help="Run store folder (default: .nbprod at the project root).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--log-output/--no-log-output", default=False,
              help="Echo the notebook's printed output to stderr as it runs.")
@click.option("--progress-bar/--no-progress-bar", default=None, hidden=True,
              help="papermill's switch: --no-progress-bar is -q.")
@click.option("--request-save-on-cell-execute/--no-request-save-on-cell-execute",
              default=True, hidden=True,
              help="Accepted for papermill scripts: the output is always saved after each cell.")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
def run_command(notebook, output_path, params, raw_params, parameter_files, yaml_params,
                base64_params, cwd, timeout, kernel, output, store_dir, quiet, log_output,
                progress_bar, request_save_on_cell_execute, output_format):
    """Run a notebook with parameters and keep a receipt of the run.

    The executed notebook and its receipt go to .nbprod/runs/<run_id>/; the input notebook is
    never modified. papermill's command line works too: `nbprod run IN OUT -p a 1 -r b x -y
    YAML -f file.yaml -k kernel` (OUT is the same as -o OUT).

    Exit codes: 0 succeeded, 1 a cell failed or the notebook stopped early (sys.exit),
    2 bad input (unknown parameter, wrong type...), 3 the kernel died, a cell timed out or
    the run was interrupted.
    """
    from ..run import run_notebook
    from .papermill_args import merge_parameters, output_target

    output = output_target(output_path, output)
    values, texts = merge_parameters(params, raw_params, parameter_files, yaml_params,
                                     base64_params)
    quiet = quiet or progress_bar is False
    store = _open_store(notebook, store_dir) if store_dir is not None else None
    # Progress goes to stderr whatever the format: the JupyterLab panel shows it per cell.
    with _CellProgress(not quiet) as progress:
        result = run_notebook(
            notebook, values, text_parameters=texts, cwd=cwd, timeout=timeout, kernel=kernel,
            store=store, output=output, progress=progress,
            log_output=_LogOutput() if log_output else None,
        )
    if output_format == "json":
        echo(json.dumps({**result.receipt, "run_dir": str(result.run_dir)}, indent=2,
                        ensure_ascii=False, default=str))
    else:
        _print_result(result)
    return result.exit_code


class _LogOutput:
    """Where ``--log-output`` sends the notebook's printed output: stderr, as it comes."""

    def write(self, text: str) -> None:
        echo(text, err=True, nl=False)

    def flush(self) -> None:
        pass


def _print_result(result) -> None:
    duration = result.receipt.get("timing", {}).get("duration_s") or 0.0
    where = _display(result.output_path)
    masked = result.receipt.get("masked") or 0
    if masked:
        echo(f"masked {masked} secret value{'s' if masked != 1 else ''} in the run store's"
             " copies (output notebook, receipt)", err=True)
    if result.status == "succeeded":
        echo(f"run {result.run_id} succeeded in {duration:.1f} s")
        echo(f"output: {where}")
        return
    error = result.receipt.get("error") or {}
    traceback = (error.get("traceback") or "").rstrip().splitlines()
    if result.status == "failed" and traceback:
        echo("\n".join(traceback[-8:]), err=True)
    echo(f"error: run {result.run_id} {result.status}: {error.get('message', '')}",
               err=True)
    log = result.run_dir / "kernel.log"
    if result.status == "kernel_died" and log.exists():
        # A crash message, when the kernel process wrote one before it died.
        echo(f"the kernel process's own output: {_display(log)}", err=True)
    echo(f"output: {where}")


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@click.command("params")
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
def params_command(notebook, output_format):
    """Show the parameters a notebook takes (from its cell tagged 'parameters').

    Exit codes: 0 shown, 2 the notebook or its parameters cell cannot be read.
    """
    from ..notebook import load
    from ..params.cell import parameters_cell
    from ..params.coerce import schema

    nb = load(notebook)
    infos = schema(nb)
    if output_format == "json":
        cell = parameters_cell(nb)
        echo(json.dumps({
            "notebook": str(notebook),
            "cell": cell.index if cell else None,
            "cell_id": cell.id if cell else None,
            "parameters": [p.to_dict() for p in infos],
        }, indent=2, ensure_ascii=False))
        return 0
    if not infos:
        echo(f"{notebook}: no cell tagged 'parameters'", err=True)
        return 0
    rows = [("NAME", "TYPE", "DEFAULT", "HELP")]
    for info in infos:
        data = info.to_dict()
        default = "(required)" if info.required else (
            data["default_source"] if data["default_source"] is not None else "***")
        rows.append((info.name, data["type"] or "-", default, info.help or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        echo("  ".join([*padded, row[3]]).rstrip())
    return 0


@click.command("reproduce")
@click.argument("run_id")
@click.option("--rtol", type=float, default=1e-5, show_default=True,
              help="Relative tolerance for numbers in outputs.")
@click.option("--atol", type=float, default=1e-8, show_default=True,
              help="Absolute tolerance for numbers in outputs.")
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Value of a parameter that was redacted (a secret) in the receipt.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Per-cell time limit in seconds.")
@click.option("--store", "store_dir", type=click.Path(path_type=Path),
              help="Run store folder (default: .nbprod at the project root).")
@click.option("--isolated", is_flag=True,
              help="Run in a fresh environment built with uv from the run's receipt (cached).")
@click.option("--upgrade", "upgrade", multiple=True, metavar="PKG[,PKG]",
              help="Like --isolated, with these packages at their newest versions. Repeatable.")
@click.option("--allow-data-change", is_flag=True,
              help="With --isolated: reproduce even when input files changed since the run.")
@source_options
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
def reproduce_command(run_id, rtol, atol, params, timeout, store_dir, isolated, upgrade,
                      allow_data_change, index_url, find_links, no_index, offline, quiet,
                      output_format):
    """Re-run a recorded run with its parameters and compare the outputs.

    Differences of environment and input data since the run are reported first. Numbers in
    outputs are compared within --rtol/--atol; memory addresses, timestamps and temporary
    paths are ignored. With --isolated the run's environment is rebuilt first (the
    distributions it needed at their recorded versions, the recorded Python) and the notebook
    runs there; input files must be unchanged. --upgrade names packages to take at their
    newest versions: the first cell that breaks is named, with the API-drift rule (NB5xx)
    that predicted it.

    Exit codes: 0 outputs match, 1 the first differing cell is named, 2 unknown run, bad
    input, changed inputs or an environment that cannot be locked (the package is named),
    3 the kernel died, timed out, the re-run was interrupted or uv failed.
    """
    from ..run.compare import Tolerance
    from ..run.reproduction import reproduce
    from ..store import open_project_store

    store = open_project_store(Path.cwd(), store_dir, create=False)
    text = output_format == "text"
    # Progress goes to stderr whatever the format: the JupyterLab panel shows it.
    with _CellProgress(not quiet) as progress:
        result = reproduce(
            run_id, store=store, tolerance=Tolerance(rtol=rtol, atol=atol),
            parameters=dict(params), timeout=timeout,
            on_report=_print_report if text else None, progress=progress,
            isolated=isolated, upgrade=split_names(upgrade),
            sources=sources_from(index_url, find_links, no_index, offline),
            allow_data_change=allow_data_change,
            on_stage=None if quiet else _stage,
        )
    if not text:
        echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
        return result.exit_code
    original = result.original.get("run_id")
    flux = result.inputs_in_flux
    if result.ok and flux:
        echo(f"reproduced, with a caveat: run {result.run.run_id} matches run {original}, but"
             f" {', '.join(flux)} changed while a run read it; the recorded hashes may not be"
             " what the notebook read")
    elif result.ok:
        echo(f"reproduced: run {result.run.run_id} matches run {original}")
    elif result.run.status == "interrupted" and result.original.get("status") != "interrupted":
        # Stopped before it could be compared: not a mismatch, and not a reproduction either.
        echo(f"error: the reproduction of run {original} was interrupted (run"
             f" {result.run.run_id}); nothing was compared; run nbprod reproduce again",
             err=True)
    else:
        assert result.difference is not None
        echo(f"error: run {result.run.run_id} does not reproduce run {original}:"
                   f" {result.difference.message()}", err=True)
        _print_prediction(result)
        if flux:
            echo(f"note: {', '.join(flux)} changed while a run read it", err=True)
    return result.exit_code


def _stage(line: str) -> None:
    echo(line, err=True)


def _print_prediction(result) -> None:
    """With --upgrade: the upgraded versions, and whether an NB5xx rule saw the break coming."""
    upgraded = (result.isolated or {}).get("upgraded") or {}
    if not upgraded:
        return
    versions = ", ".join(f"{name} {version}" for name, version in upgraded.items())
    if result.predicted:
        for finding in result.predicted:
            echo(f"predicted by {finding['code']} ({finding['name']}), cell {finding['cell']}"
                 f" line {finding['line']}: {finding['message']} (with {versions})", err=True)
    else:
        echo(f"no API-drift rule (NB5xx) predicted this break (with {versions})", err=True)


def _print_report(environment: dict, data: dict, notes: list[str]) -> None:
    """What changed since the original run, before it runs again (stderr)."""
    lines = list(notes)
    for key, change in environment.get("system", {}).items():
        if key != "executable":
            lines.append(f"environment: {key} {_brief(change['a'])} -> {_brief(change['b'])}")
    packages = environment.get("packages", {})
    for name, change in list(packages.get("changed", {}).items())[:10]:
        lines.append(f"environment: {name} {change['a']} -> {change['b']}")
    for label in ("added", "removed"):
        names = list(packages.get(label, {}))
        if names:
            lines.append(f"environment: {len(names)} package(s) {label}: "
                         + ", ".join(names[:8]) + (" ..." if len(names) > 8 else ""))
    for key, change in environment.get("git", {}).items():
        lines.append(f"git: {key} {_brief(change['a'])} -> {_brief(change['b'])}")
    for entry in data.get("changed", []):
        lines.append(f"data: {entry['path']} changed since the run")
    for entry in data.get("removed", []):
        lines.append(f"data: {entry['path']} is missing")
    for line in lines:
        echo(line, err=True)


def _brief(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."
