"""Turn runs into self-contained HTML pages: nbconvert for one run, Jinja for several.

The page templates are files under ``templates/report/`` (an nbconvert template,
``nbprod_run``, and ``runs.html.j2``), so a team can restyle its reports without touching
code.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import NbprodError, StoreError
from ..template_paths import template_dir
from .charts import scatter_svg
from .context import run_context, show

__all__ = ["notebook_page", "report", "resolve_runs"]

GROUP_KINDS = ("sweep", "pipeline")


def report(store: Any, run_ids: list[str]) -> tuple[str, str]:
    """The page for ``run_ids`` and a title for it.

    One plain run gives the receipt and its executed notebook; one sweep or pipeline run
    gives the page of its runs; several ids give the page comparing them.

    Raises
    ------
    StoreError
        For an unknown or ambiguous run id (with a did-you-mean).
    """
    receipts = [store.get_run(run_id) for run_id in run_ids]
    if len(receipts) == 1 and receipts[0].get("kind") not in GROUP_KINDS:
        receipt = receipts[0]
        run_dir = store.run_dir(receipt["run_id"])
        context = run_context(receipt, run_dir, _previous(store, receipt))
        title = f"nbprod run {receipt['run_id']}"
        return notebook_page(_executed_notebook(run_dir, context), context, title), title
    if len(receipts) == 1:
        parent = receipts[0]
        children = store.list_runs(parent=parent["run_id"])
        children.sort(key=lambda r: (r.get("started") or "", r["run_id"]))
        runs = [store.get_run(child["run_id"]) for child in children]
        title = f"nbprod {parent.get('kind')} {parent['run_id']}"
        return _runs_page(store, runs, title, parent), title
    title = f"nbprod runs {receipts[0]['run_id']} and {len(receipts) - 1} more"
    return _runs_page(store, receipts, title, None), title


def notebook_page(nb: Any, context: dict[str, Any], title: str) -> str:
    """A run's receipt (``context``) above its executed notebook ``nb``, by nbconvert."""
    import nbformat
    from nbconvert import HTMLExporter

    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.from_dict(nb)
    exporter = HTMLExporter(template_name="nbprod_run",
                            extra_template_basedirs=[str(template_dir("report"))])
    resources = {"metadata": {"name": title},
                 "nbprod": {"run": context, "title": title, "css": _css()}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def _executed_notebook(run_dir: Path, context: dict[str, Any]) -> Any:
    """The run's output notebook, its failing cell tagged for the page; empty when missing."""
    import nbformat

    path = run_dir / "output.ipynb"
    if not path.is_file():
        return nbformat.v4.new_notebook()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # a damaged output: the receipt is still worth showing
        context["has_output"] = False
        return nbformat.v4.new_notebook()
    failing = (context.get("error") or {}).get("cell_id")
    for cell in nb.cells:  # a fresh copy from disk: tagging it changes nothing stored
        if failing and cell.get("id") == failing:
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), "nbprod-failed"]
    return nb


def _previous(store: Any, receipt: dict) -> dict | None:
    """The run of the same notebook and kind just before this one, if any."""
    notebook = (receipt.get("notebook") or {}).get("path")
    if not notebook:
        return None
    rows = store.list_runs(notebook=notebook, kind=receipt.get("kind") or "run", limit=200)
    ids = [row["run_id"] for row in rows]  # newest first
    if receipt["run_id"] not in ids or ids.index(receipt["run_id"]) + 1 >= len(ids):
        return None
    try:
        return store.get_run(ids[ids.index(receipt["run_id"]) + 1])
    except NbprodError:  # a damaged neighbour: the page goes without the comparison
        return None


def _runs_page(store: Any, receipts: list[dict], title: str, parent: dict | None) -> str:
    contexts = [run_context(r, store.run_dir(r["run_id"])) for r in receipts]
    parameter_names = list(dict.fromkeys(p["name"] for c in contexts for p in c["parameters"]))
    record_names = list(dict.fromkeys(k for r in receipts for k in (r.get("records") or {})))
    steps = bool(parent and parent.get("kind") == "pipeline")
    # A pipeline's steps take different parameters by design: nothing "varies" there.
    varying = set() if steps else {name for name in parameter_names
                                   if len({_param(r, name) for r in receipts}) > 1}
    step_names = {}
    if steps:
        step_names = {s["run_id"]: s["name"]
                      for s in run_context(parent, store.run_dir(parent["run_id"]))["steps"]}
    rows = []
    for index, (receipt, context) in enumerate(zip(receipts, contexts, strict=True), start=1):
        values = {p["name"]: p["value"] for p in context["parameters"]}
        rows.append({
            "run": context,
            "label": step_names.get(receipt["run_id"]) or f"run {index}",
            "parameters": [{"text": values.get(n, ""), "varies": n in varying}
                           for n in parameter_names],
            "records": [show(receipt["records"][n]) if n in (receipt.get("records") or {})
                        else "" for n in record_names],
        })
    env = _environment()
    template = env.get_template("runs.html.j2")
    return template.render(
        title=title, css=_css(), runs=contexts, rows=rows, steps=steps,
        parent=run_context(parent, store.run_dir(parent["run_id"])) if parent else None,
        parameter_names=parameter_names, record_names=record_names,
        counts=sorted(Counter(c["status"] for c in contexts).items()),
        charts=_charts(receipts, sorted(varying, key=parameter_names.index), record_names),
        dag=_dag(parent) if steps else None,
    )


def _param(receipt: dict, name: str) -> str:
    return repr((receipt.get("parameters") or {}).get(name))


def _charts(receipts: list[dict], varying: list[str], record_names: list[str]) -> list[dict]:
    """One chart per (recorded number, varying parameter) over the succeeded runs.

    A failed run's values may have been recorded before it broke: they stay in the table,
    but a chart compares finished runs only.
    """
    charts = []
    for record in record_names:
        for name in varying:
            points = [
                ((r.get("parameters") or {}).get(name), float(r["records"][record]),
                 r["run_id"])
                for r in receipts
                if r.get("status") == "succeeded" and name in (r.get("parameters") or {})
                and _is_number((r.get("records") or {}).get(record))
            ]
            if len(points) >= 2:
                charts.append({"svg": scatter_svg(points, name, record),
                               "caption": f"{record} against {name}"})
    return charts


def _dag(parent: dict) -> str:
    from ..pipeline.render import dag_svg

    steps = (parent.get("pipeline") or {}).get("steps") or {}
    upstream = {name: step.get("upstream") or [] for name, step in steps.items()}
    status = {name: step.get("status") or "" for name, step in steps.items()}
    name = (parent.get("pipeline") or {}).get("name") or "pipeline"
    return dag_svg(name, list(steps), upstream, status)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=1)
def _css() -> str:
    return (template_dir("report") / "style.css").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    base = template_dir("report")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(base), str(base / "nbprod_run")]),
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def resolve_runs(store: Any, run_ids: list[str]) -> list[str]:
    """The full ids of ``run_ids`` (prefixes allowed), all checked before any work.

    Raises
    ------
    StoreError
        For no id, or an unknown or ambiguous one (with a did-you-mean).
    """
    if not run_ids:
        raise StoreError("give at least one run id; 'nbprod runs list' shows them")
    return [store.resolve_run_id(run_id) for run_id in run_ids]

