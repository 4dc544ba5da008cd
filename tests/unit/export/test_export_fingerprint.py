"""The export fingerprint and the read-only fast path of an unchanged re-export."""

from __future__ import annotations

import json

import nbformat
from notebook_builder import make_notebook

from nbprod.export import ExportConfig, layout_for, plan_export, write_planned
from nbprod.export.fingerprint import fingerprint
from nbprod.notebook import load, loads

CELLS = ({"source": "def f():\n    return 1", "tags": ["export"]},
         {"source": "assert f() == 1", "tags": ["test"]},
         {"source": "x = f()", "tags": ["step:a"]})


def _fp(*cells, **config) -> str:
    nb = loads(nbformat.writes(make_notebook(*cells)), path="/p/nb.ipynb")
    return fingerprint(nb, layout_for(nb, ExportConfig(**config), "/p"))


def test_fingerprint_follows_sources_tags_and_settings():
    base = _fp(*CELLS)
    assert base == _fp(*CELLS)
    assert base != _fp({"source": "def f():\n    return 2", "tags": ["export"]}, *CELLS[1:])
    assert base != _fp({"source": "def f():\n    return 1", "tags": ["skip"]}, *CELLS[1:])
    assert base != _fp(*CELLS, package="pkg")


def test_unchanged_reexport_reads_files_and_changed_one_regenerates(notebook_factory, tmp_path):
    path = notebook_factory("nb.ipynb", *CELLS)
    write_planned(plan_export(load(path), root=tmp_path))
    statuses = plan_export(load(path), root=tmp_path)
    assert [s.status for s in statuses] == ["unchanged"] * 4
    assert all(s.artifact.text == s.target.read_text() for s in statuses)

    module = tmp_path / "nb.py"
    module.write_text(module.read_text() + "# edited\n")
    assert {s.path.name: s.status for s in plan_export(load(path), root=tmp_path)}["nb.py"] \
        == "edited-by-hand"

    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = "def f():\n    return 1\n\n\nG = 2"
    path.write_text(json.dumps(nb))
    module.unlink()
    statuses = {s.path.name: s.status for s in plan_export(load(path), root=tmp_path)}
    assert statuses["nb.py"] == "new" and statuses["test_nb.py"] == "changed"


def test_a_missing_file_is_regenerated(notebook_factory, tmp_path):
    path = notebook_factory("nb.ipynb", *CELLS)
    write_planned(plan_export(load(path), root=tmp_path))
    (tmp_path / "tests" / "test_nb.py").unlink()
    statuses = {s.path.name: s.status for s in plan_export(load(path), root=tmp_path)}
    assert statuses["test_nb.py"] == "new" and statuses["nb.py"] == "unchanged"
