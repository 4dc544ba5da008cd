"""The ``test`` cells of a notebook -> a pytest file that imports the exported module.

Each test cell becomes one test function. A test reads the exported module (and the values of
the parameters cell), never the notebook's globals, so it fails in CI exactly when the module
is wrong.
"""

from __future__ import annotations

import json
import keyword
import re
from typing import ClassVar

from ..analysis import ALWAYS_DEFINED
from ..errors import CellExportError
from ..markers import cell_marks
from ..notebook import Notebook
from .base import Artifact
from .cells import SourceCell, require_python
from .config import Layout
from .module import IPYTHON_NAMES, import_lines
from .provenance import cell_marker, stamp_python
from .render import import_block, indent, noqa_codes, render

__all__ = ["TestsExporter", "needed_names", "test_function_name"]


class TestsExporter:
    """Writes ``<tests-dir>/test_<module>.py`` from the notebook's ``test`` cells."""

    name: ClassVar[str] = "tests"
    __test__ = False  # not a pytest test class, despite the name

    def export(self, nb: Notebook, layout: Layout) -> list[Artifact]:
        """Return the test-file artifact, or nothing when no cell is tagged ``test``.

        Raises
        ------
        ExportError
            When a test cell holds IPython syntax, or uses a name defined only in a cell that
            is neither exported nor the parameters cell (both cells are named).
        """
        from .selection import select_cells  # selection checks with this module's rules

        cells = select_cells(nb, layout)
        tests = [c for c in cells if c.role == "test"]
        if not tests:
            return []
        exported = [c for c in cells if c.role == "export"]
        params = next((c for c in cells if c.role == "parameters"), None)
        for sc in tests:
            require_python(sc, layout.notebook, "a test")
        from_module, from_params = needed_names(cells, tests, exported, params, layout.notebook)
        statements = import_lines(from_module, exported, layout.module_import)
        # A test cell the notebook's tests do not run (nbdev's `#| eval: false`, nbval's
        # NBVAL_SKIP...) is skipped here too, as `pytest --nbprod` skips it.
        skipped = {sc.index: marks for sc in tests if (marks := cell_marks(sc.cell)).skip}
        imports = import_block(statements + ["import pytest"] * bool(skipped),
                               layout.module_import)
        params_block = ""
        codes = ["\n".join(statements)]
        if from_params and params is not None:
            require_python(params, layout.notebook, "the tests")
            marker = cell_marker(params.cell.id, params.index, layout.notebook)
            params_block = f"{marker}\n{params.code.strip(chr(10)).rstrip()}"
            codes.append(params.code)
        functions, used_names, bodies = [], set(), []
        for sc in tests:
            name = test_function_name(sc, used_names)
            used_names.add(name)
            code = sc.code.strip("\n").rstrip()
            if sc.analysis.tree is None or not sc.analysis.tree.body:
                code = (code + "\n" if code else "") + "pass"
            bodies.append(sc.analysis.tree or code)
            marker = cell_marker(sc.cell.id, sc.index, layout.notebook)
            if sc.index in skipped:
                reason = json.dumps(f"{skipped[sc.index].reason} in the notebook")
                marker += f"\n@pytest.mark.skip(reason={reason})"
            functions.append(f"{marker}\ndef {name}():\n{indent(code)}")
        body = render(
            "tests.py.j2",
            noqa=noqa_codes(codes, [], wrapped=bodies),
            imports=imports,
            params=params_block,
            functions="\n\n\n".join(functions),
        )
        text = stamp_python(body, layout.notebook, layout.inputs)
        return [Artifact(layout.tests_path, text, self.name,
                         layout.notebook)]


def test_function_name(sc: SourceCell, taken: set[str]) -> str:
    """``test_<slug>`` from the cell's first comment line, else from its id or number."""
    comment = next(
        (line.strip().lstrip("#").strip() for line in sc.code.split("\n")
         if line.strip().startswith("#") and line.strip().lstrip("#").strip()),
        None,
    )
    source = comment or sc.cell.id or f"cell_{sc.index}"
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", source).strip("_").lower()[:60].rstrip("_")
    if not slug:
        slug = f"cell_{sc.index}"
    if not slug.startswith("test"):
        slug = f"test_{slug}"
    if keyword.iskeyword(slug) or not slug.isidentifier():
        slug = f"test_cell_{sc.index}"
    name, suffix = slug, 2
    while name in taken:
        name, suffix = f"{slug}_{suffix}", suffix + 1
    return name


def needed_names(cells, tests, exported, params, where) -> tuple[list[str], set[str]]:
    """Names tests take from the module and from the parameters cell.

    Raises
    ------
    CellExportError
        For the first test that reads any other name.
    """
    module_names: dict[str, int] = {}
    for sc in exported:
        for name in sc.analysis.defines:
            module_names.setdefault(name, sc.index)
    param_names = set(params.analysis.defines) if params is not None else set()
    star = any(sc.analysis.star_imports for sc in exported)
    from_module: list[str] = []
    from_params: set[str] = set()
    for sc in tests:
        reads = {**sc.analysis.function_reads, **sc.analysis.uses}
        local = set(sc.analysis.defines)
        for name, line in reads.items():
            if name in ALWAYS_DEFINED and name not in IPYTHON_NAMES:
                continue
            if name in local and name not in sc.analysis.uses:
                continue
            if name in module_names:
                if name not in from_module:
                    from_module.append(name)
            elif name in param_names:
                from_params.add(name)
            elif not star:
                raise CellExportError(_message(cells, sc, name, line, where), sc.index)
    return sorted(from_module), from_params


def _message(cells, sc, name, line, where) -> str:
    label = f"{where} {sc.cell.label}, line {line}"
    if name in IPYTHON_NAMES:
        return f"{label}: {name!r} exists only in a Jupyter kernel, not in a test; use plain Python"
    definers = [c for c in cells if name in c.analysis.defines and c is not sc]
    if not definers:
        return (
            f"{label}: the test uses {name!r}, which no cell defines; define it in the test cell"
            " or in an export cell"
        )
    other = definers[0]
    role = "untagged" if other.role == "plain" else f"tagged {other.role}"
    return (
        f"{label}: the test uses {name!r}, defined only in {other.cell.label} ({role});"
        f" tests import the exported module, so tag {other.cell.label} export or define"
        f" {name!r} in the test cell"
    )
