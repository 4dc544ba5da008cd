"""The ``serve`` cell of a notebook -> ``<package>/<module>_service.py``, its FastAPI app.

The serve cell is exported into the notebook's module like an ``export`` cell, so its
``predict`` runs with the module's preprocessing functions as globals. The service file only
imports that module and hands it to ``nbprod.serve.app.create_app``: the code that answers a
request is the code the notebook trained with, never a copy of it.
"""

from __future__ import annotations

import ast
from typing import ClassVar

from ..errors import CellExportError
from ..notebook import Notebook
from .base import Artifact
from .config import Layout
from .provenance import stamp_python

__all__ = ["ServiceExporter", "predict_cell", "serve_left_out"]

_BODY = '''"""The HTTP service of {notebook}: its serve cell's predict behind FastAPI.

Run it with `nbprod serve {notebook}`,
or `uvicorn {service_import}:app` with NBPROD_MODEL naming the model (NAME@champion).
predict and the preprocessing it calls come from {module_import} itself, imported, not copied.
"""

from nbprod.serve.app import create_app

import {module_import} as module

app = create_app(module, {notebook!r})
'''


def predict_cell(nb: Notebook, layout: Layout):
    """The serve cell that defines ``predict(model, rows)``, None without serve cells or
    when the export leaves every serve cell out (``serve_left_out`` says why).

    Raises
    ------
    CellExportError
        When serve cells exist but none defines a function ``predict`` taking two arguments.
    """
    from .selection import select_cells

    serve = [sc for sc in select_cells(nb, layout)
             if "serve" in sc.cell.marks and sc.role == "export"]
    if not serve:
        return None
    for sc in serve:
        tree = sc.analysis.tree
        for node in tree.body if tree is not None else []:
            if isinstance(node, ast.FunctionDef) and node.name == "predict":
                if len(node.args.args) + len(node.args.posonlyargs) >= 2:
                    return sc
    first = serve[0]
    raise CellExportError(
        f"{layout.notebook}: cell {first.index} (id {first.cell.id}) is tagged serve but no"
        " serve cell defines def predict(model, rows); define it there (rows is a DataFrame"
        " of requests, return one prediction per row)", first.index,
    )


def serve_left_out(nb: Notebook, layout: Layout) -> str | None:
    """Why the export leaves out a cell tagged serve (the reason names the cell and the
    fix), or None when it leaves none out: its predict is then missing from the module, and
    no service is generated."""
    from .cells import classify
    from .selection import left_out

    reasons = left_out(nb, layout)
    return next((reasons[sc.index] for sc in classify(nb)
                 if "serve" in sc.cell.marks and sc.index in reasons), None)


class ServiceExporter:
    """Writes the service app when a cell is tagged ``serve`` (``#| serve``)."""

    name: ClassVar[str] = "service"

    def export(self, nb: Notebook, layout: Layout) -> list[Artifact]:
        """Return the service file, or nothing without a serve cell.

        Raises
        ------
        CellExportError
            When no serve cell defines ``predict(model, rows)``.
        """
        if layout.service_path is None or predict_cell(nb, layout) is None:
            return []
        service_import = layout.module_import + "_service"
        body = _BODY.format(notebook=layout.notebook, module_import=layout.module_import,
                            service_import=service_import)
        text = stamp_python(body, layout.notebook, layout.inputs)
        return [Artifact(layout.service_path, text, self.name, layout.notebook)]
