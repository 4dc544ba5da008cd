"""``nbprod runs list|show|diff|path|report`` and ``nbprod store verify``: the run store.

Every command takes ``--store DIR`` (default: ``.nbprod`` at the project root, or
``[tool.nbprod.store] path``) and ``--output-format json``, whose output the JupyterLab panel
reads. Commands that look at runs first mark runs whose process died as ``interrupted``.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..config import suggest
from ..errors import ConfigError, StoreError
from ..run.used_parameters import parameters_used
from ..store import KINDS, STATUSES, Store, StoreNotFoundError, open_project_store
from ..store.diff import diff_receipts
from .emit import emit

FORMATS = ("text", "json")


def _common(command):
    """The options every store command shares."""
    command = click.option(
        "--output-format", type=click.Choice(FORMATS), default="text", show_default=True,
        help="json is stable and machine-readable.",
    )(command)
    return click.option(
        "--store", "store_dir", type=click.Path(path_type=Path), default=None,
        help="The store folder (default: .nbprod at the project root).",
    )(command)


def _open(store_dir: Path | None) -> Store:
    store = open_project_store(".", store_dir=store_dir, create=False)
    store.mark_interrupted_stale()
    return store


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


_PIPED_WIDTH = 10_000


def _render(*renderables) -> None:
    """Print rich renderables through click (so tests capture them), coloured only on a tty.

    On a terminal, rich's own rule applies: ``NO_COLOR`` set to anything turns colour off.
    """
    tty = sys.stdout.isatty()
    # Piped into grep or a file, a row is one line however long (a terminal folds it instead).
    width = shutil.get_terminal_size((120, 24)).columns if tty else _PIPED_WIDTH
    buffer = io.StringIO()
    # markup=False: text in square brackets (a type such as list[int], a value, a path) is
    # shown as written, never taken for a style.
    console = Console(file=buffer, force_terminal=tty, width=width, no_color=None if tty else True,
                      highlight=False, soft_wrap=not tty, markup=False)
    for renderable in renderables:
        console.print(renderable)
    click.echo(buffer.getvalue(), nl=False)


def _short(digest: str | None) -> str:
    return (digest or "-").removeprefix("blake3:")[:12]


def _params(parameters: dict) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in parameters.items())
    return text if len(text) <= 60 else text[:57] + "..."


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


_STATUS_STYLE = {"succeeded": "green", "running": "cyan", "failed": "red", "interrupted": "yellow"}


@click.group("runs")
def runs_group() -> None:
    """List, show and compare the runs recorded in the run store."""


@runs_group.command("list")
@click.option("--notebook", "-n", default=None, help="Only runs of this notebook (path or name).")
@click.option("--status", "-s", default=None, help=f"Only this status ({', '.join(STATUSES)}).")
@click.option("--kind", default=None, help=f"Only runs of this kind ({', '.join(KINDS)}).")
@click.option("--parent", default=None, help="Only runs whose parent is this run id.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many runs (newest first).")
@_common
def list_command(notebook, status, kind, parent, limit, store_dir, output_format) -> int:
    """List runs, newest first.

    Exit codes: 0 success, 2 bad usage or an unreadable store.
    """
    if status is not None and status not in STATUSES:
        raise ConfigError(f"--status {status!r} is not a status{suggest(status, STATUSES)};"
                          f" the statuses are {', '.join(STATUSES)}")
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"--kind {kind!r} is not a kind of run{suggest(kind, KINDS)};"
                          f" the kinds are {', '.join(KINDS)}")
    recorded = False
    try:
        store = _open(store_dir)
    except StoreNotFoundError as exc:
        if exc.elsewhere:  # runs of notebooks in another folder: never an empty list
            raise
        runs: list[dict] = []  # no store yet simply means no runs yet
    else:
        if parent is not None:
            parent = _parent_id(store, parent)
        runs = store.list_runs(notebook=notebook, status=status, kind=kind, parent=parent,
                               limit=limit)
        recorded = bool(runs) or bool(store.list_runs(limit=1))
    if output_format == "json":
        # Each run's recorded values too: the JupyterLab Runs view tables and charts them.
        for run in runs:
            receipt = store.read_receipt(run["run_id"]) or {}
            run["records"] = receipt.get("records") or {}
        _echo_json(runs)
        return 0
    if not runs and recorded:
        filters = " ".join(f"--{name} {value}" for name, value in (
            ("notebook", notebook), ("status", status), ("kind", kind), ("parent", parent))
            if value is not None)
        click.echo(f"No run matches the filters ({filters}); 'nbprod runs list' without them"
                   " shows every run.", err=True)
        return 0
    if not runs:
        click.echo("No runs recorded yet.", err=True)
        return 0
    table = Table(box=None, pad_edge=False, header_style="bold")
    notebook_width = min(40, max(len(run["notebook"]) for run in runs))
    # KIND tells a notebook run from a sweep's, a pipeline's (and its steps') or a reproduction.
    for column in ("RUN ID", "STATUS", "KIND", "NOTEBOOK", "STARTED", "DURATION", "PARAMETERS"):
        # A path or a value too long for its column folds onto the next line, never cut; the
        # parameters give way first (the notebook's path keeps up to 40 characters).
        table.add_column(column, no_wrap=column in ("RUN ID", "STATUS", "KIND", "STARTED"),
                         overflow="fold",
                         min_width=notebook_width if column == "NOTEBOOK" else None)
    for run in runs:
        table.add_row(
            run["run_id"],
            Text(run["status"], style=_STATUS_STYLE.get(run["status"], "magenta")),
            run["kind"],
            run["notebook"],
            (run["started"] or "")[:19].replace("T", " "),
            _duration(run["duration_s"]),
            _params(run["parameters"]),
        )
    _render(table)
    return 0


def _parent_id(store: Store, text: str) -> str:
    """The full id of the run ``--parent`` names (a prefix or suffix is enough)."""
    try:
        return store.resolve_run_id(text)
    except StoreError as exc:
        raise StoreError(f"--parent: {exc}") from None


@runs_group.command("show")
@click.argument("run_id")
@_common
def show_command(run_id, store_dir, output_format) -> int:
    """Show the receipt of one run (a unique prefix of the id, or its suffix, is enough).

    Exit codes: 0 success, 2 unknown or ambiguous run id.
    """
    store = _open(store_dir)
    receipt = store.get_run(run_id)
    if output_format == "json":
        _echo_json(receipt)
        return 0
    _render(*_receipt_view(receipt, store.run_dir(receipt["run_id"])))
    return 0


def _receipt_view(receipt: dict, run_dir: Path) -> list:
    notebook = receipt.get("notebook") or {}
    timing = receipt.get("timing") or {}
    env = receipt.get("environment") or {}
    git = env.get("git") or {}
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    status = receipt.get("status", "?")
    rows = [
        ("run", receipt.get("run_id", "?")),
        ("status", Text(status, style=_STATUS_STYLE.get(status, "magenta"))),
        ("notebook", f"{notebook.get('path')}  ({_short(notebook.get('hash'))})"),
        ("kind", receipt.get("kind") or "run"),
        ("started", str(timing.get("start"))),
        ("duration", _duration(timing.get("duration_s"))),
        ("folder", str(run_dir)),
    ]
    if receipt.get("parent"):
        rows.insert(4, ("parent", receipt["parent"]))
    if env:
        rows.append(("python", f"{env.get('python')} on {env.get('platform')}"))
        rows.append(("packages", str(len(env.get("packages") or {}))))
        if env.get("not_reproducible"):
            rows.append(("not reproducible", _not_reproducible(env["not_reproducible"])))
    if git:
        dirty = " (dirty)" if git.get("dirty") else ""
        rows.append(("git", f"{(git.get('commit') or 'no commit')[:12]}{dirty}"))
    for name, value in rows:
        head.add_row(name, value)
    parts: list = [head]
    used = parameters_used(receipt, run_dir)
    if used:
        parts.append(_parameters_table(used))
    if receipt.get("records"):
        parts.append(_values_table("records", receipt["records"]))
    if receipt.get("models"):
        parts.append(_models_table(receipt["models"]))
    error = receipt.get("error")
    if error:
        cell_id = error.get("cell_id")
        where = (f"cell {error['cell']}" + (f" (id {cell_id!r})" if cell_id else "") + ": "
                 if error.get("cell") else "")
        what = error.get("ename") or ""
        message = error.get("evalue") or error.get("message") or ""
        parts.append(Text(f"error: {where}{what}{': ' if what else ''}{message}", style="red"))
    data = receipt.get("data") or []
    if data:
        table = Table(title="data", title_justify="left", box=None, header_style="bold")
        for column in ("PATH", "ROLE", "BYTES", "HASH", "STORED"):
            table.add_column(column)
        for entry in data:
            table.add_row(str(entry.get("path")), str(entry.get("role")),
                          str(entry.get("bytes", "-")),
                          _short(entry.get("hash")) if entry.get("hash") else
                          Text(str(entry.get("error", "not hashed")), style="red"),
                          "yes" if entry.get("stored") else "no")
        parts.append(table)
    parts += [Text(line, style="yellow") for line in _flux_lines(receipt)]
    return parts


def _flux_lines(receipt: dict, label: str = "") -> list[str]:
    """Inputs that changed while the run read them (receipt ``changed_during_run``)."""
    lines = []
    for entry in receipt.get("changed_during_run") or []:
        first = entry.get("hash_at_first_read")
        seen = f"read as {_short(first)}" if first else "changed after it was opened"
        lines.append(f"{label}changed during the run: {entry.get('path')} ({seen},"
                     f" {_short(entry.get('hash_at_end'))} at the end); the outputs may not"
                     " match any one version of it")
    return lines


def _not_reproducible(names: list[str]) -> str:
    """Why a package is flagged: its version number does not pin its code."""
    return (f"{', '.join(names)} (installed from a local folder or in editable mode: the same"
            " version can hold other code, so rebuild it from the project's commit)")


def _parameters_table(rows: list[dict]) -> Table:
    table = Table(title="parameters", title_justify="left", box=None, header_style="bold")
    for column in ("NAME", "VALUE", "TYPE", "SET BY"):
        table.add_column(column)
    for row in rows:
        value = row["value"] if row.get("expression") else json.dumps(
            row["value"], ensure_ascii=False, default=str)
        table.add_row(row["name"], value,
                      row["type"] or "-",
                      "given" if row["given"] else Text("default", style="dim"))
    return table


def _models_table(models: list[dict]) -> Table:
    """The models the run recorded (``nbprod.record_model``): what ``nbprod models show``
    details, and how ``serve --run`` names them."""
    table = Table(title="models", title_justify="left", box=None, header_style="bold")
    for column in ("NAME", "CLASS", "FORMAT", "HASH", "TRAINING DATA"):
        table.add_column(column)
    for model in models:
        profile = model.get("profile") or {}
        rows = f"{profile['rows']} rows" if "rows" in profile else "not recorded"
        table.add_row(str(model.get("name")), str(model.get("class") or "-").rsplit(".", 1)[-1],
                      str(model.get("format") or "-"), _short(model.get("hash")), rows)
    return table


def _values_table(title: str, values: dict) -> Table:
    """A NAME / VALUE table of a receipt's records, values shown as JSON."""
    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    table.add_column("NAME")
    table.add_column("VALUE")
    for name, value in values.items():
        table.add_row(name, json.dumps(value, ensure_ascii=False, default=str))
    return table


@runs_group.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@_common
def diff_command(run_a, run_b, store_dir, output_format) -> int:
    """Compare two runs: parameters, records, packages, git, data (hashes, drift), outputs.

    Exit codes: 0 success (whether or not the runs differ), 2 unknown run id.
    """
    store = _open(store_dir)
    a, b = store.get_run(run_a), store.get_run(run_b)
    dir_a, dir_b = store.run_dir(a["run_id"]), store.run_dir(b["run_id"])
    # Parameters are compared as the runs used them, defaults included: a value one run
    # left at its default is "4 (default) -> 3", not "added".
    used_a, used_b = parameters_used(a, dir_a), parameters_used(b, dir_b)
    result = diff_receipts({**a, "parameters": {r["name"]: r["value"] for r in used_a}},
                           {**b, "parameters": {r["name"]: r["value"] for r in used_b}},
                           dir_a, dir_b)
    result["parameter_defaults"] = {
        "a": [r["name"] for r in used_a if not r["given"]],
        "b": [r["name"] for r in used_b if not r["given"]]}
    if output_format == "json":
        _echo_json(result)
    else:
        click.echo(_diff_text(result))
    return 0


def _mapping_lines(title: str, diff: dict, defaults: dict | None = None) -> list[str]:
    """``+``/``-``/``~`` lines of a mapping diff; ``defaults`` marks values left at default."""
    defaults = defaults or {}

    def shown(value: Any, side: str, key: str) -> str:
        mark = " (default)" if key in defaults.get(side, ()) else ""
        return _brief_value(value) + mark

    lines = []
    for key, value in diff["added"].items():
        lines.append(f"  + {key} = {shown(value, 'b', key)}")
    for key, value in diff["removed"].items():
        lines.append(f"  - {key} = {shown(value, 'a', key)}")
    for key, change in diff["changed"].items():
        a, b = change["a"], change["b"]
        if _long_lists(a, b):
            lines.append(f"  ~ {key}: {_list_change(a, b)}")
            continue
        lines.append(f"  ~ {key}: {shown(a, 'a', key)} -> {shown(b, 'b', key)}")
    return [title, *lines] if lines else []


def _long_lists(a: Any, b: Any) -> bool:
    """Two lists too long to read side by side on one line (recorded predictions...)."""
    return (isinstance(a, list) and isinstance(b, list)
            and len(_brief_value(a)) + len(_brief_value(b)) > 100)


def _list_change(a: list, b: list) -> str:
    """Where two long lists differ, instead of both in full: ``45 values, 1 differs (at 27:
    0 -> 1)``; the JSON output has them whole."""
    if len(a) != len(b):
        return f"{len(a)} values -> {len(b)} values"
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    shown = ", ".join(f"at {i}: {_brief_value(a[i])} -> {_brief_value(b[i])}"
                      for i in differ[:3])
    more = ", ..." if len(differ) > 3 else ""
    verb = "differs" if len(differ) == 1 else "differ"
    return f"{len(a)} values, {len(differ)} {verb} ({shown}{more})"


def _brief_value(value: Any) -> str:
    """A value for a diff line: floats to 6 significant digits, the rest as JSON."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value, ensure_ascii=False, default=str)


def _diff_text(result: dict) -> str:
    lines = [f"--- {result['a']}", f"+++ {result['b']}"]
    flux = result.get("changed_during_run") or {}
    for side in ("a", "b"):
        lines += _flux_lines({"changed_during_run": flux.get(side)}, f"{result[side]}: ")
    if result["identical"]:
        lines.append("The runs are identical in parameters, environment, data and outputs.")
        return "\n".join(lines)
    for title, changes in (("status", result["status"]), ("notebook", result["notebook"])):
        if changes:
            if "a" in changes:
                changes = {title: changes}
            lines.append(title)
            lines += [f"  ~ {k}: {v['a']} -> {v['b']}" for k, v in changes.items()]
    lines += _mapping_lines("parameters", result["parameters"],
                            result.get("parameter_defaults"))
    lines += _mapping_lines("records", result["records"])
    env = result["environment"]
    for title, changes in (("system", env["system"]), ("git", env["git"])):
        if changes:
            lines.append(title)
            lines += [f"  ~ {k}: {v['a']} -> {v['b']}" for k, v in changes.items()]
    lines += _mapping_lines("packages", env["packages"])
    if env.get("not_reproducible"):
        lines += ["not reproducible", f"  ! {_not_reproducible(env['not_reproducible'])}"]
    lines += _mapping_lines("lockfiles", env["lockfiles"])
    data = result["data"]
    if data["added"] or data["removed"] or data["changed"]:
        lines.append("data")
        lines += [f"  + {e.get('path')} ({e.get('role')})" for e in data["added"]]
        lines += [f"  - {e.get('path')} ({e.get('role')})" for e in data["removed"]]
        for entry in data["changed"]:
            lines.append(f"  ~ {entry['path']} ({entry['role']})")
            if "hash" in entry:
                lines.append(f"      hash: {_short(entry['hash']['a'])} ->"
                             f" {_short(entry['hash']['b'])}")
            if "bytes" in entry:
                lines.append(f"      bytes: {entry['bytes']['a']} -> {entry['bytes']['b']}")
            profile = entry.get("profile") or {}
            if profile.get("records"):
                lines.append(f"      records: {profile['records']['a']} ->"
                             f" {profile['records']['b']}")
            for column in profile.get("columns_added", []):
                lines.append(f"      + column {column}")
            for column in profile.get("columns_removed", []):
                lines.append(f"      - column {column}")
            for column, change in profile.get("dtypes", {}).items():
                lines.append(f"      ~ column {column} dtype: {change['a']} -> {change['b']}")
            for column, stats in profile.get("stats", {}).items():
                shown = ", ".join(f"{k} {v['a']} -> {v['b']}" for k, v in stats.items())
                lines.append(f"      ~ column {column}: {shown}")
    outputs = result["outputs"]
    if outputs and outputs["cells"]:
        lines.append("outputs")
        for cell in outputs["cells"]:
            label = f" ({cell['cell_id']})" if cell.get("cell_id") else ""  # none before 4.5
            lines.append(f"  {cell['change']}: cell {cell['cell']}{label}")
    elif outputs is not None and not outputs["available"]:
        lines.append("outputs: not compared (" + ", ".join(outputs["missing"]) + " missing)")
    return "\n".join(lines)


@runs_group.command("path")
@click.argument("run_id")
@_common
def path_command(run_id, store_dir, output_format) -> int:
    """Print the folder of a run (receipt.json, output.ipynb).

    Exit codes: 0 success, 2 unknown or ambiguous run id.
    """
    store = _open(store_dir)
    folder = store.run_dir(run_id)
    if output_format == "json":
        _echo_json({"run_id": folder.name, "path": str(folder),
                    "receipt": str(folder / "receipt.json"),
                    "output": str(folder / "output.ipynb")})
    else:
        click.echo(str(folder))
    return 0


@runs_group.command("report")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN...")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="The HTML file to write (default: nbprod-report-<RUN>.html here;"
                   " - for stdout).")
@click.option("--store", "store_dir", type=click.Path(path_type=Path), default=None,
              help="The store folder (default: .nbprod at the project root).")
@click.option("--output-format", type=click.Choice(["html", "json"]), default="html",
              show_default=True,
              help="json: the page and its title on stdout, for the JupyterLab panel.")
def report_command(run_ids, output, store_dir, output_format) -> int:
    """Write a run, sweep or pipeline as one self-contained HTML page.

    One run: its verdict, parameters (defaults marked), recorded values, data lineage,
    environment, then the executed notebook with the failing cell highlighted. A sweep or a
    pipeline run, or several RUNs: a table of parameters against recorded values with a
    chart of each, the pipeline's DAG, and each run's receipt. The page needs no network.

    Exit codes: 0 written, 2 unknown or ambiguous run id.
    """
    from ..report import report, resolve_runs

    store = _open(store_dir)
    full_ids = resolve_runs(store, list(run_ids))  # every id checked before any work
    html, title = report(store, full_ids)
    if output_format == "json":
        _echo_json({"title": title, "run_ids": full_ids, "html": html})
        return 0
    write_report(html, output, full_ids[0], extra=len(full_ids) - 1)
    return 0


def write_report(html: str, output: Path | None, run_id: str, extra: int = 0) -> None:
    """Write a report page where asked (or to a default file named after the run)."""
    if output is not None and str(output) == "-":
        click.echo(html, nl=False)
        return
    if output is None:
        output = Path(f"nbprod-report-{run_id}{f'-and-{extra}-more' if extra else ''}.html")
    emit(html, output)


@click.group("store")
def store_group() -> None:
    """Check and repair the run store."""


@store_group.command("verify")
@click.option("--rehash", is_flag=True,
              help="Also re-hash files the hash cache believes unchanged (slow, thorough).")
@click.option("--repair", is_flag=True,
              help="Remove stray temp files, re-index receipts, fix object permissions.")
@_common
def verify_command(rehash, repair, store_dir, output_format) -> int:
    """Check every object's hash, references, the SQLite index and leftover temp files.

    Exit codes: 0 the store is sound, 1 problems found, 2 bad usage or no store.
    """
    store = open_project_store(".", store_dir=store_dir, create=False)
    report = store.verify(rehash=rehash, repair=repair)
    if output_format == "json":
        _echo_json(report.to_dict())
    else:
        click.echo(_verify_text(report.to_dict()))
    return 0 if report.problems == 0 else 1


def _verify_text(report: dict) -> str:
    lines = [
        f"store: {report['store']}",
        f"objects checked: {report['objects_checked']}, runs checked: {report['runs_checked']}",
        "index integrity: " + ("ok" if report["integrity_ok"] else "; ".join(report["integrity"])),
    ]
    if report["rehashed"] or report["stale_cache_entries"]:
        lines.append(f"cache entries re-hashed: {report['rehashed']}")
    sections = (
        ("hash mismatch", report["hash_mismatches"], lambda x: f"{x['hash']} ({x['path']})"),
        ("dangling reference", report["dangling_references"],
         lambda x: f"{x['hash']} from {x['from']}"),
        ("missing receipt", report["missing_receipts"], str),
        ("damaged receipt", report["bad_receipts"], lambda x: f"{x['run_id']}: {x['error']}"),
        ("receipt not indexed", report["unindexed_receipts"], str),
        ("writable object", report["writable_objects"], str),
        ("stray temp file", report["temp_files"], str),
        ("stale hash cache entry", report["stale_cache_entries"],
         lambda x: f"{x['path']} (cached {_short(x['cached'])}, now {_short(x['actual'])})"),
        ("marked interrupted", report["interrupted"], str),
        ("object not indexed", report["unindexed_objects"], str),
        ("unmasked secret", report["unmasked_secrets"],
         lambda x: f"{x['kind']} {x['value']} in {x['path']} ({x['where']}); delete the run"
                   " or remove the value"),
    )
    for title, items, show in sections:
        for item in items:
            lines.append(f"{title}: {show(item)}")
    lines += [f"repaired: {item}" for item in report["repaired"]]
    problems = report["problems"]
    if problems:
        hint = "" if report["repair"] else "; 'nbprod store verify --repair' fixes what it can"
        lines.append(f"Found {problems} problem{'s' if problems != 1 else ''}{hint}.")
    else:
        lines.append("The store is sound.")
    return "\n".join(lines)
