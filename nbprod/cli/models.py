"""``nbprod models list|show|diff|alias``: the models runs kept with ``nbprod.record_model``."""

from __future__ import annotations

import json

import click
from rich.table import Table

from ..store import StoreNotFoundError
from .runs import _common, _echo_json, _open, _render, _short


@click.group("models")
def models_group() -> None:
    """List, show, compare and alias the models runs recorded."""


@models_group.command("list")
@click.option("--name", default=None, help="Only models of this name.")
@_common
def list_command(name, store_dir, output_format) -> int:
    """List the stored models, newest run first, with their aliases and metrics.

    Exit codes: 0 success, 2 bad usage or an unreadable store.
    """
    from ..serve.registry import aliases, list_models

    recorded = False
    try:
        store = _open(store_dir)
    except StoreNotFoundError as exc:
        if exc.elsewhere:  # models of notebooks run from another folder: never an empty list
            raise
        refs, labels = [], {}
    else:
        refs, labels = list_models(store, name), aliases(store)
        recorded = bool(refs) or (name is not None and bool(list_models(store, None)))
    rows = [ref.summary(sorted(a for a, r in labels.items()
                               if r == ref.run_id and a.split("@")[0] == ref.name))
            for ref in refs]
    if output_format == "json":
        _echo_json(rows)
        return 0
    if not rows and recorded:
        click.echo(f"No model is named {name!r}; 'nbprod models list' without --name shows"
                   " every model.", err=True)
        return 0
    if not rows:
        click.echo("No models recorded yet: call nbprod.record_model(name, model,"
                   " training_data=X) in a notebook and run it with nbprod run.", err=True)
        return 0
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "RUN ID", "ALIASES", "CLASS", "HASH", "METRICS"):
        table.add_column(column, no_wrap=column in ("NAME", "RUN ID", "HASH"))
    for row in rows:
        metrics = ", ".join(f"{k}={_brief(v)}" for k, v in row["records"].items()
                            if not isinstance(v, (list, dict)))
        table.add_row(row["name"], row["run_id"], ", ".join(row["aliases"]) or "-",
                      (row["class"] or "-").rsplit(".", 1)[-1], _short(row["hash"]),
                      metrics or "-")
    _render(table)
    return 0


def _brief(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else json.dumps(value)


@models_group.command("show")
@click.argument("model", required=False)
@click.option("--run", "run_id", default=None, help="The run whose model to show.")
@_common
def show_command(model, run_id, store_dir, output_format) -> int:
    """Show a model (NAME, NAME@ALIAS, or the one of --run ID), its run and its training
    data profile.

    Exit codes: 0 success, 2 unknown model or an unreadable store.
    """
    from ..serve.registry import resolve

    if model is None and run_id is None:
        raise click.UsageError("name the model: NAME, NAME@ALIAS, or --run ID")
    store = _open(store_dir)
    ref = resolve(store, model, run_id)
    data = {**ref.metadata(), "profile": ref.entry.get("profile")}
    if output_format == "json":
        _echo_json(data)
        return 0
    lines = [f"model    {ref.name}  ({data['model']['class']}, {data['model']['format']})",
             f"hash     {data['model']['hash']}",
             f"run      {ref.run_id}  ({(data['notebook'] or {}).get('path')})",
             "params   " + (", ".join(f"{k}={json.dumps(v)}"
                                      for k, v in data["parameters"].items()) or "-"),
             "metrics  " + (", ".join(f"{k}={_brief(v)}" for k, v in data["metrics"].items()
                                      if not isinstance(v, (list, dict))) or "-")]
    click.echo("\n".join(lines))
    profile = ref.entry.get("profile")
    if not profile:
        click.echo("training data: not recorded (pass training_data= to nbprod.record_model)")
        return 0
    table = Table(title=f"training data: {profile['rows']} rows", box=None, pad_edge=False,
                  header_style="bold", title_justify="left")
    for column in ("COLUMN", "KIND", "DTYPE", "NULLABLE", "RANGE / CATEGORIES"):
        table.add_column(column)
    for col in profile["columns"]:
        span = (", ".join(col["categories"]) if col["kind"] == "category"
                else f"{col.get('min')} .. {col.get('max')}" if "min" in col else "-")
        table.add_row(col["name"], col["kind"], col["dtype"], "yes" if col["nullable"] else "no",
                      span)
    _render(table)
    return 0


@models_group.command("diff")
@click.argument("model_a")
@click.argument("model_b")
@_common
def diff_command(model_a, model_b, store_dir, output_format) -> int:
    """Compare two models (NAME@ALIAS, NAME, or a run id): bytes, parameters, metrics,
    packages and training data.

    Exit codes: 0 success (same or different), 2 unknown model or an unreadable store.
    """
    from ..serve.compare import diff_models

    store = _open(store_dir)
    result = diff_models(_ref(store, model_a), _ref(store, model_b), store)
    if output_format == "json":
        _echo_json(result)
        return 0
    a, b = result["a"], result["b"]
    lines = [f"a: {a['name']} of run {a['run_id']}", f"b: {b['name']} of run {b['run_id']}"]
    lines.append("the same model (identical bytes)" if result["same"] else
                 "the same model (the fitted state is equal; the stored bytes differ, as"
                 " the format writes object ids into them)" if result["same_content"] else
                 "different models")
    for key, change in result["model"].items():
        lines.append(f"  {key}: {change['a']} -> {change['b']}")
    for section in ("parameters", "metrics", "packages"):
        diff = result[section]
        for key, value in diff["changed"].items():
            lines.append(f"  {section} {key}: {_brief(value['a'])} -> {_brief(value['b'])}")
        for key, value in diff["added"].items():
            lines.append(f"  {section} {key}: added ({_brief(value)})")
        for key, value in diff["removed"].items():
            lines.append(f"  {section} {key}: removed ({_brief(value)})")
    data = result["training_data"]
    for name in data["added"]:
        lines.append(f"  training column {name}: added")
    for name in data["removed"]:
        lines.append(f"  training column {name}: removed")
    for name, fields in data["changed"].items():
        shown = "; ".join(f"{k} {v['a']} -> {v['b']}" for k, v in fields.items())
        lines.append(f"  training column {name}: {shown}")
    click.echo("\n".join(lines))
    return 0


def _ref(store, text: str):
    """A model from NAME@ALIAS, NAME, or a run id (a run that recorded one model)."""
    from ..errors import StoreError
    from ..serve.registry import list_models, resolve

    if "@" in text or list_models(store, text):
        return resolve(store, text)
    try:
        return resolve(store, None, text)
    except StoreError as exc:
        raise StoreError(f"{text!r} is neither a model name, an alias nor a run with a model"
                         f" ({exc})") from None


@models_group.command("alias")
@click.argument("alias")
@click.argument("run_id", required=False)
@click.option("--delete", is_flag=True, help="Remove the alias instead.")
@click.option("--store", "store_dir", default=None, type=click.Path(),
              help="The store folder (default: .nbprod at the project root).")
def alias_command(alias, run_id, delete, store_dir) -> int:
    """Point NAME@LABEL (e.g. wine@champion) at the model NAME of run RUN_ID.

    A service started with --model NAME@LABEL serves that run's model.
    Exit codes: 0 done, 2 a bad alias, an unknown run or a run without that model.
    """
    from ..serve.registry import set_alias

    if delete == bool(run_id):
        raise click.UsageError("give RUN_ID to set the alias, or --delete to remove it")
    store = _open(store_dir)
    ref = set_alias(store, alias, None if delete else run_id)
    if ref is None:
        click.echo(f"removed {alias}", err=True)
    else:
        click.echo(f"{alias} -> run {ref.run_id} (model {_short(ref.entry.get('hash'))})",
                   err=True)
    return 0
