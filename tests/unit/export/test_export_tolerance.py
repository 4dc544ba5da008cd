"""Export of notebooks as people write them: ordinary habits are tolerated and said once, a
cell that cannot be exported is left out with a reason (refused only with ``strict``)."""

from __future__ import annotations

import json
import warnings

import pytest
from export_support import generate

from nbprod.errors import CellExportError, NbprodWarning


def _tolerant(*cells, **config):
    """Export without strict; returns (files, the warnings said)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = generate(*cells, strict=False, **config)
    return files, [str(w.message) for w in caught if issubclass(w.category, NbprodWarning)]


def _compiles(text: str) -> None:
    compile(text, "generated.py", "exec", dont_inherit=True)


def test_importing_the_same_module_again_in_a_step_is_no_conflict():
    files, notes = _tolerant(
        {"source": "import numpy as np\nrows = np.arange(3)", "tags": ["step:load"]},
        {"source": "total = np.sum(rows)", "tags": ["step:sum"]},
        {"source": "import numpy as np\ndouble = total * 2", "tags": ["step:sum"]},
    )
    text = files["nb_pipeline.py"]
    _compiles(text)
    top, steps = text.split("\ndef ", 1)
    assert "import numpy as np" in top
    sum_step = steps.split("\ndef sum_step", 1)[1].split("\ndef ", 1)[0]
    assert "import" not in sum_step and "double = total * 2" in sum_step
    assert any("the same import again in a step" in n for n in notes)


def test_time_and_timeit_keep_the_statement_without_the_timing():
    files, notes = _tolerant(
        {"source": "%time rows = list(range(5))\n%timeit -n 3 rows.sort()\ntotal = sum(rows)",
         "tags": ["step:make"]},
        {"source": "%%time\nhalf = total / 2", "tags": ["step:half"]},
    )
    text = files["nb_pipeline.py"]
    _compiles(text)
    assert "    rows = list(range(5))" in text and "    rows.sort()" in text
    assert "%time" not in text
    assert "    half = total / 2" in text
    assert any("without the timing" in n and "%time rows" in n for n in notes)


def test_package_installs_are_left_out_and_named_for_the_requirements():
    files, notes = _tolerant({"source": "%pip install rich\nimport os\nhome = os.sep",
                              "tags": ["step:a"]})
    assert "pip" not in files["nb_pipeline.py"]
    assert any("package install '%pip install rich'" in n and "requirements.txt" in n
               for n in notes)


def test_a_shell_line_in_a_step_leaves_that_cell_out_and_the_rest_exports():
    cells = (
        {"source": "rows = [1, 2, 3]", "tags": ["step:load"]},
        {"source": "!ls data\ncount = len(rows)", "tags": ["step:load"]},
        {"source": "total = sum(rows)", "tags": ["step:sum"]},
    )
    files, notes = _tolerant(*cells)
    text = files["nb_pipeline.py"]
    _compiles(text)
    assert "count = len(rows)" not in text and "total = sum(rows)" in text
    [note] = [n for n in notes if n.startswith("left out:")]
    assert "cell 2 (id 'c2'), line 1: IPython syntax '!ls data'" in note
    assert "--strict" in note
    with pytest.raises(CellExportError, match="IPython syntax '!ls data'"):
        generate(*cells)  # strict


def test_an_unresolved_name_leaves_the_cell_out_and_what_depends_on_it():
    files, notes = _tolerant(
        {"source": "rows = [1, 2, 3]", "tags": ["step:load"]},
        {"source": "scaled = [r * factor for r in rows]", "tags": ["step:scale"]},
        {"source": "best = max(scaled)", "tags": ["step:scale"]},
        {"source": "total = sum(rows)", "tags": ["step:sum"]},
        {"source": "factor = 2", "tags": ["step:late"]},
    )
    text = files["nb_pipeline.py"]
    _compiles(text)
    assert "scaled" not in text and "best" not in text and "total = sum(rows)" in text
    left = [n for n in notes if n.startswith("left out:")]
    assert any("cell 2 (id 'c2')" in n and "'factor'" in n for n in left)
    assert any("cell 3 (id 'c3')" in n and "'scaled'" in n and "cell 2" in n for n in left)


def test_a_name_only_a_skipped_cell_defines_leaves_the_reader_out():
    files, notes = _tolerant(
        {"source": "limit = 3", "tags": ["skip"]},
        {"source": "rows = list(range(limit))", "tags": ["step:a"]},
        {"source": "other = 1", "tags": ["step:b"]},
    )
    assert "range(limit)" not in files["nb_pipeline.py"]
    assert any("'limit'" in n and "cell 2" in n for n in notes)


def test_ipython_only_export_cells_never_reach_the_module():
    files, notes = _tolerant(
        {"source": "from IPython.core.magic import register_cell_magic\n\n"
                   "@register_cell_magic\ndef shout(line, cell):\n    return cell.upper()",
         "tags": ["export"]},
        {"source": "def kernel():\n    return get_ipython()", "tags": ["export"]},
        {"source": "def show(x):\n    display(x)", "tags": ["export"]},
        {"source": "def double(x):\n    return 2 * x", "tags": ["export"]},
    )
    text = files["nb.py"]
    _compiles(text)
    assert "register_cell_magic" not in text and "get_ipython" not in text
    assert "display" not in text and "def double" in text
    left = [n for n in notes if n.startswith("left out:")]
    assert len(left) == 3
    assert any("@register_cell_magic registers an IPython magic" in n for n in left)


def test_a_future_import_opens_the_step_module():
    files, _notes = _tolerant(
        {"source": "from __future__ import annotations\nrows: list[int] = [1]",
         "tags": ["step:a"]},
        {"source": "import os\ntotal = len(rows)", "tags": ["step:b"]},
    )
    text = files["nb_pipeline.py"]
    _compiles(text)
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body[1] == "from __future__ import annotations"  # right after the docstring


def test_unserialisable_values_leave_the_reading_cell_out():
    files, notes = _tolerant(
        {"source": "handle = open(__file__)\nsize = 1", "tags": ["step:open"]},
        {"source": "text = handle.read()", "tags": ["step:read"]},
        {"source": "double = size * 2", "tags": ["step:read"]},
    )
    text = files["nb_pipeline.py"]
    assert "handle.read()" not in text and "double = size * 2" in text
    assert any("cannot be serialised" in n and "cell 2" in n for n in notes)


def test_nothing_to_export_exits_0_and_says_so(notebook_factory, run_cli, tmp_path):
    path = notebook_factory("text.ipynb", {"cell_type": "markdown", "source": "# Notes"})
    result = run_cli("export", path)
    assert result.exit_code == 0
    assert "nothing to export: no code cell is tagged" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.ipynb"]


def test_cli_reports_each_left_out_cell_once_and_strict_refuses(notebook_factory, run_cli,
                                                                 tmp_path):
    path = notebook_factory(
        "nb.ipynb",
        {"source": "def double(x):\n    return 2 * x", "tags": ["export"]},
        {"source": "%cd /tmp\nrows = [double(1)]", "tags": ["step:a"]},
        {"source": "total = sum([1])", "tags": ["step:b"]},
    )
    result = run_cli("export", path)
    assert result.exit_code == 0, result.output
    assert result.output.count("left out: nb.ipynb cell 2") == 1
    assert (tmp_path / "nb_pipeline.py").is_file()
    for generated in ("nb.py", "nb_pipeline.py", "nb_pipeline.json", "tests"):
        target = tmp_path / generated
        if target.is_dir():
            continue
        target.unlink(missing_ok=True)
    result = run_cli("export", path, "--strict")
    assert result.exit_code == 2
    assert "cell 2 (id 'c2'), line 1: IPython syntax '%cd /tmp'" in result.output
    assert not (tmp_path / "nb_pipeline.py").exists()


def test_strict_writes_what_export_writes_and_still_refuses_after_an_export(
        notebook_factory, run_cli, tmp_path):
    clean = notebook_factory(
        "clean.ipynb",
        {"source": "def double(x):\n    return 2 * x", "tags": ["export"]},
        {"source": "rows = [double(1)]", "tags": ["step:a"]},
    )
    assert run_cli("export", clean).exit_code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("clean*.*")}
    result = run_cli("export", clean, "--strict")
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in tmp_path.glob("clean*.*")} == before
    result = run_cli("export", "--check", clean)
    assert result.exit_code == 0, result.output

    left_out = notebook_factory(
        "nb.ipynb",
        {"source": "def double(x):\n    return 2 * x", "tags": ["export"]},
        {"source": "%cd /tmp\nrows = [double(1)]", "tags": ["step:a"]},
        {"source": "total = sum([1])", "tags": ["step:b"]},
    )
    assert run_cli("export", left_out).exit_code == 0
    result = run_cli("export", left_out, "--strict")
    assert result.exit_code == 2
    assert "IPython syntax '%cd /tmp'" in result.output


def test_tag_write_keeps_keys_other_tools_added(notebook_factory, run_cli):
    path = notebook_factory("nb.ipynb", "def f():\n    return 1", "x = f() + 1")
    data = json.loads(path.read_text())
    data["path_"] = "kept"
    path.write_text(json.dumps(data))
    result = run_cli("tag", "--suggest", "--write", path)
    assert result.exit_code == 0, result.output
    after = json.loads(path.read_text())
    assert after["path_"] == "kept"
    assert [c["metadata"].get("tags") for c in after["cells"]] == [["export"], ["step:main"]]


def test_a_tuple_default_without_parentheses_stays_valid_in_the_signature():
    files = generate({"source": "size = 640, 480", "tags": ["parameters"]},
                     {"source": "area = size[0] * size[1]", "tags": ["step:a"]})
    text = files["nb_pipeline.py"]
    _compiles(text)
    assert "(640, 480)" in text


def test_session_lines_inside_a_block_keep_the_block_valid():
    files, notes = _tolerant(
        {"source": "import os\nif os.environ.get('ON_KAGGLE'):\n    !pip install -Uqq fastai\n"
                   "for i in range(2):\n    %time i * 2\nrows = [1]", "tags": ["step:a"]},
        {"source": "total = sum(rows)", "tags": ["step:b"]})
    text = files["nb_pipeline.py"]
    _compiles(text)
    assert "        pass" in text and "        i * 2" in text
    assert not [n for n in notes if n.startswith("left out:")]
