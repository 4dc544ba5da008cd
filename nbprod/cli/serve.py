"""``nbprod serve`` (the model service of a notebook) and ``nbprod drift`` (offline drift)."""

from __future__ import annotations

import ipaddress
import os
import sys
import warnings
from pathlib import Path

import click

from ..errors import ConfigError, ExportError, MissingDependencyError, NbprodError, NbprodWarning
from .runs import _common, _echo_json, _open, _render


def _require_serving() -> None:
    """Refuse early, in one line, when the serve extra is not installed."""
    import importlib.util

    for package in ("fastapi", "uvicorn", "pydantic", "pandas"):
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, "serve", "nbprod serve")


@click.command("serve")
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("--model", default=None,
              help="NAME or NAME@ALIAS (default: the newest run of NOTEBOOK with a model).")
@click.option("--run", "run_id", default=None, help="Serve the model of this run.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the service has no authentication (see docs/serve.md).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each keeps its own metrics and drift window).")
@click.option("--max-body", type=click.IntRange(min=1), default=1024 * 1024, show_default=True,
              help="Largest request body in bytes; larger ones get 413.")
@click.option("--drift-window", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Rows of recent requests compared with the training data.")
@click.option("--store", "store_dir", type=click.Path(path_type=Path), default=None,
              help="The store folder (default: .nbprod at the project root).")
def serve_command(notebook, model, run_id, host, port, workers, max_body, drift_window,
                  store_dir):
    """Serve a notebook's model over HTTP: its serve cell's predict, validated, monitored.

    Runs the app 'nbprod export' generated (<package>/<module>_service.py) with uvicorn.
    POST /predict takes one record, a list of records, {"records": [...]} or
    {"columns": {...}}; GET /health, /ready, /metadata, /metrics (Prometheus) and /drift.
    Exit codes: 0 stopped, 2 the notebook has no serve cell, its export is out of date, or
    the model cannot be found.
    """
    _require_serving()
    from ..serve.app import ENV
    from ..serve.registry import require_profile, resolve

    target = _service_target(notebook)
    store = _open(store_dir)
    try:
        ref = resolve(store, model, run_id, notebook=target["notebook"])
        require_profile(ref)
    finally:
        store.close()
    env = {ENV["model"]: ref.name, ENV["run"]: ref.run_id, ENV["max_body"]: str(max_body),
           ENV["window"]: str(drift_window)}
    if store_dir is not None:
        env[ENV["store"]] = str(Path(store_dir).resolve())
    os.environ.update(env)
    app_dir = str(target["app_dir"])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [app_dir, *filter(None, [os.environ.get("PYTHONPATH")])])
    _check_free(host, port)
    if not _loopback(host):
        click.echo(f"warning: binding {host}: the service has no authentication; expose it"
                   " only behind a proxy that authenticates (docs/serve.md)", err=True)
    click.echo(f"serving model {ref.name} of run {ref.run_id} ({target['notebook']}) on"
               f" http://{host}:{port}  (POST /predict, GET /metadata /metrics /drift)",
               err=True)
    import uvicorn

    sys.path.insert(0, app_dir)
    uvicorn.run(f"{target['service_import']}:app", host=host, port=port, workers=workers,
                app_dir=app_dir, log_level="info")
    return 0


def _check_free(host: str, port: int) -> None:
    """Refuse, in one line, an address another process holds (uvicorn would exit with 3)."""
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose"
                          " another --port, or stop what uses it") from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _service_target(notebook: Path) -> dict:
    """The service module of ``notebook``, after checking its export is on disk and current.

    Raises
    ------
    ExportError
        Without a serve cell, or when the generated files are missing or out of date.
    """
    from ..config import load_project_config
    from ..export import ExportConfig, layout_for, plan_export
    from ..export.service import predict_cell, serve_left_out
    from ..notebook import load

    if notebook.is_dir():
        raise ConfigError(f"{notebook}: is a folder; give the notebook whose model to serve")
    project = load_project_config(notebook)
    config = project.section("export", ExportConfig)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NbprodWarning)
        nb = load(notebook)
        layout = layout_for(nb, config, project.root)
        if predict_cell(nb, layout) is None:
            left_out = serve_left_out(nb, layout)
            if left_out is not None:
                raise ExportError(f"{notebook}: no service, its serve cell is left out of the"
                                  f" export: {left_out}")
            raise ExportError(f"{notebook}: no cell is tagged serve; tag the cell that defines"
                              " def predict(model, rows) with serve, then nbprod export")
        wanted = {layout.module_path, layout.service_path}
        stale = [f for f in plan_export(nb, config, root=project.root)
                 if f.path in wanted and f.out_of_date]
    for note in dict.fromkeys(str(w.message) for w in caught
                              if issubclass(w.category, NbprodWarning)):
        click.echo(f"warning: {note}", err=True)
    if stale:
        names = ", ".join(str(f.path) for f in stale)
        raise ExportError(f"{notebook}: {names} missing or out of date; run nbprod export"
                          f" {notebook} first, so the service runs the notebook's current code")
    depth = len(layout.module_import.split("."))
    import_root = layout.module_path.parents[depth - 1]
    return {"notebook": layout.notebook, "service_import": layout.module_import + "_service",
            "app_dir": project.root / import_root.as_posix(), "layout": layout,
            "root": project.root,
            "package": import_root / layout.module_import.split(".")[0]}


def export_service(notebook: Path, model: str | None, run_id: str | None, out_dir: str | None,
                   force: bool, output_format: str) -> int:
    """``nbprod export NOTEBOOK --to service``: the service folder with its model, pinned
    requirements and Dockerfile (``nbprod.serve.bundle``), written like every export.

    Raises
    ------
    ExportError, StoreError
        Without a serve cell, with a stale export, or when the model cannot be found.
    """
    import json
    from pathlib import PurePosixPath

    from ..export import refuse_unsafe, write_planned
    from ..export.writer import plan_writes
    from ..fsutil import atomic_write
    from ..serve.bundle import service_files
    from ..serve.registry import require_profile, resolve
    from ..store import open_project_store
    from ..store.hashing import hash_bytes

    target = _service_target(notebook)
    layout, root = target["layout"], target["root"]
    store = open_project_store(root, create=False)
    try:
        ref = resolve(store, model, run_id, notebook=target["notebook"])
        require_profile(ref)
        data = store.objects.path_for(ref.entry["hash"]).read_bytes()
    finally:
        store.close()
    if hash_bytes(data) != ref.entry["hash"]:
        raise ExportError(f"model {ref.name!r} of run {ref.run_id}: the stored bytes do not"
                          " match their hash; nbprod store verify shows the damage")
    base = PurePosixPath(out_dir) if out_dir not in (None, ".") else PurePosixPath()
    folder = base / "services" / layout.module
    module_text = (root / layout.module_path.as_posix()).read_text(encoding="utf-8")
    artifacts, blobs = service_files(
        folder=folder, notebook=layout.notebook, module_import=layout.module_import,
        package=target["package"], module_text=module_text, ref=ref, model_bytes=data)
    statuses = plan_writes(artifacts, root)
    refuse_unsafe(statuses, force=force)
    written = len(write_planned(statuses, force=force).written)
    rows = [(str(s.path), s.status) for s in statuses]
    for relative, blob in blobs.items():
        path = root / relative.as_posix()
        same = path.is_file() and path.read_bytes() == blob
        if not same:
            atomic_write(path, blob)
            written += 1
        rows.append((str(relative), "unchanged" if same else "written"))
    if output_format == "json":
        click.echo(json.dumps({"folder": str(folder), "model": ref.name, "run_id": ref.run_id,
                               "files": [{"path": p, "status": s} for p, s in rows],
                               "written": written}, indent=2))
    else:
        for path, status in rows:
            click.echo(f"{status:15s} {path}")
        click.echo(f"Service of model {ref.name} (run {ref.run_id}) in {folder}: {written}"
                   f" written, {len(rows) - written} unchanged. Run it from {root}:"
                   f" uvicorn {'.'.join(folder.parts)}.app:app", err=True)
    return 0


@click.command("drift")
@click.argument("run_id")
@click.argument("csv", type=click.Path(path_type=Path))
@click.option("--model", default=None, help="The model of the run, when it recorded several.")
@click.option("--min-rows", type=click.IntRange(min=1), default=100, show_default=True,
              help="Fewer rows than this give no verdict.")
@_common
def drift_command(run_id, csv, model, min_rows, store_dir, output_format):
    """Compare a CSV of inputs with the training data of a run's model (PSI per column).

    RUN_ID may also be a model alias (NAME@LABEL). Each feature gets the population
    stability index against the training deciles or categories, and the change of its
    missing rate, with a verdict: stable, moderate or drifted.
    Exit codes: 0 no feature drifted, 1 some feature drifted, 2 unreadable CSV, a column
    missing, or an unknown run.
    """
    from ..serve.drift import DriftMonitor
    from ..serve.registry import require_profile, resolve

    store = _open(store_dir)
    ref = resolve(store, run_id, None) if "@" in run_id else resolve(store, model, run_id)
    require_profile(ref)
    frame = _read_csv(csv)
    profile = ref.entry["profile"]
    missing = [c["name"] for c in profile["columns"] if c["name"] not in frame.columns]
    if missing:
        raise NbprodError(f"{csv}: no column {', '.join(map(repr, missing))}; the model of run"
                          f" {ref.run_id} was fitted on {len(profile['columns'])} columns"
                          " ('nbprod models show' lists them)")
    monitor = DriftMonitor(profile, window=max(len(frame), 1), min_rows=min_rows)
    monitor.observe_frame(frame)
    report = {"model": ref.name, "run_id": ref.run_id, "file": str(csv), **monitor.report()}
    if output_format == "json":
        _echo_json(report)
    else:
        _drift_table(report)
    return 1 if report["drifted"] else 0


def _read_csv(csv: Path):
    import pandas as pd

    try:
        return pd.read_csv(csv)
    except FileNotFoundError:
        raise NbprodError(f"{csv}: no such file; give a CSV of inputs with a header") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NbprodError(f"{csv}: cannot read it as CSV ({first})") from None


def _drift_table(report: dict) -> None:
    from rich.table import Table
    from rich.text import Text

    style = {"drifted": "red", "moderate": "yellow", "stable": "green"}
    table = Table(box=None, pad_edge=False, header_style="bold",
                  title=f"{report['rows']} rows of {report['file']} against the training data"
                        f" of {report['model']} (run {report['run_id']})", title_justify="left")
    for column in ("FEATURE", "KIND", "PSI", "MISSING (TRAIN -> NOW)", "VERDICT"):
        table.add_column(column)
    for f in report["features"]:
        psi = "-" if f["psi"] is None else f"{f['psi']:.3f}"
        rates = f"{f['missing_rate']['training']:.1%} -> {f['missing_rate']['live']:.1%}"
        table.add_row(f["feature"], f["kind"], psi, rates,
                      Text(f["verdict"], style=style.get(f["verdict"], "")))
    _render(table)
    drifted = report["drifted"]
    click.echo(f"{len(drifted)} of {len(report['features'])} features drifted"
               + (f": {', '.join(drifted)}" if drifted else ""), err=True)
