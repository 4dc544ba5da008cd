"""The notebook loader: what it accepts, what it repairs in memory, and how it saves."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
import pytest
from malformed_corpus import ODD, build_huge, build_odd, tree_digest
from notebook_builder import make_notebook

from nbprod.errors import NbprodWarning, NotebookError
from nbprod.notebook import Node, dumps, load, loads, save


def _load_quietly(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbprodWarning)
        return load(path)


def test_node_gives_attribute_access_like_nbformat():
    nb = loads(nbformat.writes(make_notebook("x = 1")))
    assert isinstance(nb.node, Node)
    assert nb.node.cells[0].source == "x = 1"
    nb.node.metadata.extra = 1
    assert nb.node["metadata"]["extra"] == 1
    with pytest.raises(AttributeError):
        _ = nb.node.no_such_key
    assert nbformat.from_dict(nb.node).cells[0].source == "x = 1"


def test_cells_are_numbered_over_all_cells():
    text = nbformat.writes(
        make_notebook({"source": "# T", "cell_type": "markdown"}, "a = 1", {"source": "r",
                                                                             "cell_type": "raw"})
    )
    nb = loads(text)
    assert [(c.index, c.cell_type, c.id) for c in nb.cells] == [
        (1, "markdown", "c1"), (2, "code", "c2"), (3, "raw", "c3")
    ]
    assert [c.index for c in nb.code_cells] == [2]


def test_odd_corpus_is_read_and_never_rewritten(tmp_path):
    paths = build_odd(tmp_path / "odd")
    assert len(paths) == len(ODD) >= 10
    before = tree_digest(tmp_path)
    for path in paths:
        nb = _load_quietly(path)
        assert isinstance(nb.cells, list)
    assert tree_digest(tmp_path) == before


def test_v3_is_upgraded_with_a_warning(tmp_path):
    path = build_odd(tmp_path)[0]
    assert path.name == "v3.ipynb"
    with pytest.warns(NbprodWarning, match="nbformat 3 notebook upgraded"):
        nb = load(path)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
    assert nb.cells[1].source == "x = 1\nprint(x)"


@pytest.mark.parametrize(
    ("name", "note"),
    [
        ("v4.99-future.ipynb", "newer than this nbformat knows"),
        ("missing-ids.ipynb", "2 cell id(s) missing"),
        ("duplicate-ids.ipynb", "1 cell id(s)"),
        ("extra-top-level-key.ipynb", "unexpected keys kept"),
    ],
)
def test_repairs_and_upgrades_are_reported(tmp_path, name, note):
    path = tmp_path / name
    path.write_bytes(ODD[name])
    nb = _load_quietly(path)
    assert any(note in w for w in nb.warnings), nb.warnings
    if "ids" in name:
        ids = [c.id for c in nb.cells]
        assert len(set(ids)) == len(ids) and all(ids)


def test_missing_nbformat_is_refused_not_read_as_v1():
    with pytest.raises(NotebookError, match="no 'nbformat' version key"):
        loads(json.dumps({"cells": [], "metadata": {}}))


def test_size_guard_refuses_before_reading(tmp_path):
    huge = build_huge(tmp_path / "huge.ipynb", size=3 * 2**20)
    with pytest.raises(NotebookError, match=r"huge.ipynb: file is 3.0 MiB, over the 2 MiB limit"):
        load(huge, max_bytes=2 * 2**20)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(NotebookError, match="no such file"):
        load(tmp_path / "nope.ipynb")
    with pytest.raises(NotebookError, match="is a folder"):
        load(tmp_path)


def test_save_of_unchanged_jupyter_file_is_byte_identical(tmp_path):
    nb_node = make_notebook(
        {"source": "# Title\nintro", "cell_type": "markdown"},
        {"source": "print('é')\nx = 1", "execution_count": 1,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "é\nline 2\n"},
                     {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/plain": "1\n2", "image/png": "iVBORw0KGgo="}}]},
    )
    path = tmp_path / "nb.ipynb"
    original = nbformat.writes(nb_node) + "\n"
    path.write_text(original, encoding="utf-8")
    nb = load(path)
    assert dumps(nb) == original
    save(nb, tmp_path / "copy.ipynb")
    assert (tmp_path / "copy.ipynb").read_text(encoding="utf-8") == original


def test_loading_never_imports_nbformat():
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "from nbprod.notebook import loads\n"
        "nb = {'nbformat': 4, 'nbformat_minor': 5, 'metadata': {}, 'cells': [\n"
        " {'cell_type': 'code', 'id': 'a', 'metadata': {}, 'source': 'x', 'outputs': [],"
        " 'execution_count': None}]}\n"
        "loads(json.dumps(nb))\n"
        "v3 = {'nbformat': 3, 'nbformat_minor': 0, 'metadata': {}, 'worksheets': [{'cells': [\n"
        " {'cell_type': 'code', 'input': 'x', 'outputs': [], 'language': 'python'}]}]}\n"
        "loads(json.dumps(v3))\n"
        "print('nbformat' in sys.modules, 'jsonschema' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_compiled_schema_checks_are_kept_on_disk_and_a_bad_copy_is_rebuilt(tmp_path,
                                                                          monkeypatch):
    from nbprod import notebook

    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path))
    schema = {"type": "object", "required": ["cells"]}
    first = notebook._cached_check(schema)
    (kept,) = (tmp_path / "schema").iterdir()
    kept.write_bytes(b"not marshal data")
    again = notebook._cached_check(schema)  # from the bad copy: compiled again, and kept
    for check in (first, again):
        check({"cells": []})
        with pytest.raises(Exception, match="must contain"):
            check({})
    assert kept.read_bytes() != b"not marshal data"

    def never(*args, **kwargs):
        raise AssertionError("compiled again although the cache holds the check")

    monkeypatch.setattr("fastjsonschema.compile_to_code", never)
    notebook._cached_check(schema)({"cells": []})
