"""Patterns of real notebooks that the rules must read right: names a star import may
define, code in functions that never run, plain assignments in a parameters cell, the
fast.ai install line, tagged empty cells, repeated execution counts."""

from __future__ import annotations

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint import LintConfig, lint
from nbprod.lint.rules.portability import movable_requirements
from nbprod.notebook import load, loads


def findings(*cells, select: tuple[str, ...]):
    nb = loads(nbformat.writes(make_notebook(*cells)))
    return lint(nb, LintConfig(select=select)).diagnostics


def export(source: str) -> dict:
    return {"source": source, "tags": ["export"]}


# NB004: a star import above the use may define the name.


def test_star_import_above_the_use_may_define_the_name():
    assert findings("from math import *\nx = cos(2 * pi)", "from math import cos, pi",
                    select=("NB004",)) == []
    assert findings("from math import *", "x = cos(2 * pi)", "from math import cos, pi",
                    select=("NB004",)) == []


def test_star_import_below_the_use_defines_nothing_for_it():
    found = findings("x = cos(2 * pi)\nfrom math import *", "from math import cos, pi",
                     select=("NB004",))
    assert sorted(d.message.split("`")[1] for d in found) == ["cos", "pi"]
    found = findings("x = cos(1)", "from math import *", "from math import cos",
                     select=("NB004",))
    assert [(d.cell, d.line) for d in found] == [(1, 1)]


def test_a_name_the_star_imported_module_does_not_bind_is_still_reported():
    found = findings("from math import *", "print(y)", "y = bool(1)", select=("NB004",))
    assert [d.message.split("`")[1] for d in found] == ["y"]
    # What a module nbprod cannot read binds is unknown: any name may come from it.
    assert findings("from no_such_module_here import *", "print(y)", "y = bool(1)",
                    select=("NB004",)) == []


@pytest.mark.parametrize(("module", "name", "binds"), [
    ("math", "cos", True), ("math", "y", False),  # written in C: listed by importing it
    ("os.path", "join", True), ("os.path", "exists", True),  # star imports followed
    ("json", "dumps", True), ("json", "JSONDecodeError", True), ("json", "decoder", False),
    ("no_such_module_here", "anything", None), (".relative", "x", None),
])
def test_what_a_star_import_binds(module, name, binds):
    from nbprod.lint.rules._helpers import star_import_names

    names = star_import_names(module)
    assert (None if names is None else name in names) is binds


# NB303, NB304: a star import in an export cell may give the module a name.


def test_star_import_in_an_export_cell_may_provide_an_imported_name():
    cells = (export("from os.path import *"), "from os.path import join",
             export("def f(a, b):\n    return join(a, b)"), export('X = join("a", "b")'))
    assert findings(*cells, select=("NB303", "NB304")) == []


def test_names_the_notebook_computes_are_still_reported_beside_a_star_import():
    cells = (export("from os.path import *"), "from os.path import join\nTHRESHOLD = 0.7",
             export("def f(a):\n    return a > THRESHOLD"), export("Y = THRESHOLD * 2"))
    assert [d.code for d in findings(*cells, select=("NB303", "NB304"))] == ["NB303", "NB304"]


def test_a_star_import_nbprod_cannot_read_may_provide_any_name():
    cells = (export("from no_such_module_here import *"), "THRESHOLD = 0.7",
             export("def f(a):\n    return a > THRESHOLD"), export("Y = THRESHOLD * 2"))
    assert findings(*cells, select=("NB303", "NB304")) == []


def test_star_import_below_a_top_level_use_does_not_provide_it():
    cells = ("from os.path import join", export('X = join("a", "b")'),
             export("from os.path import *\ndef f(a, b):\n    return join(a, b)"))
    found = findings(*cells, select=("NB303", "NB304"))
    assert [(d.code, d.cell) for d in found] == [("NB304", 2)]


# NB305, NB204: only code that a top-to-bottom run executes.


def test_input_in_a_function_nothing_calls_is_not_reported():
    assert findings('def ask():\n    return input("name? ")', 'print("done")',
                    select=("NB305",)) == []


@pytest.mark.parametrize("call", [
    "ask()", "name = ask()", "names = list(map(ask, range(3)))", "%time ask()",
    "outer()",  # through another function
    "Asker()",  # a class's __init__
    "asker.ask()",  # a method, by its name
])
def test_input_in_a_function_the_notebook_runs_is_reported(call):
    cells = ('def ask(*args):\n    return input("name? ")',
             "def outer():\n    return ask()",
             "class Asker:\n    def __init__(self):\n        self.name = input()\n"
             "    def ask(self):\n        return input()",
             call)
    assert [d.code for d in findings(*cells, select=("NB305",))] >= ["NB305"]


def test_input_at_the_top_level_is_reported():
    found = findings('name = input("name? ")', "x = [input() for _ in range(2)]",
                     select=("NB305",))
    assert [d.cell for d in found] == [1, 2]


def test_an_nbdev_command_never_called_in_its_notebook_is_not_reported():
    cell = export(
        "@call_parse\ndef release(path: str = 'conda'):\n    os.chdir(path)\n"
        "    if not input('Release? ').startswith('y'):\n        return\n"
    )
    assert findings("import os\nfrom fastcore.script import call_parse", cell,
                    "# release.__wrapped__()", select=("NB204", "NB305")) == []
    called = findings("import os\nfrom fastcore.script import call_parse", cell,
                      "release.__wrapped__()", select=("NB204", "NB305"))
    assert sorted(d.code for d in called) == ["NB204", "NB305"]


def test_chdir_in_a_function_nothing_calls_is_not_reported():
    assert findings("import os\ndef go(path):\n    os.chdir(path)", select=("NB204",)) == []
    found = findings("import os\ndef go(path):\n    os.chdir(path)", 'go("data")',
                     select=("NB204",))
    assert [(d.cell, d.line) for d in found] == [(1, 3)]


# NB107: chained and tuple assignments of literals are plain assignments.


def test_chained_and_tuple_assignments_of_literals_are_not_code():
    cell = {"source": "lr: float = 0.1\na = b = 1\nx, y = 1, 2\n[u, v] = ('a', 'b')",
            "tags": ["parameters"]}
    assert findings(cell, "print(a, b, x, y)", select=("NB107",)) == []


@pytest.mark.parametrize("source", ["a = b = f()", "x, y = f()", "x, y = 1, 2, 3",
                                    "x.attr = 1", "x, *y = 1, 2"])
def test_other_assignments_in_the_parameters_cell_are_code(source):
    cell = {"source": source, "tags": ["parameters"]}
    assert [d.code for d in findings(cell, select=("NB107",))] == ["NB107"]


# NB203: combined short flags of pip.


@pytest.mark.parametrize(("line", "specs"), [
    ("!pip install -Uqq fastai", ["fastai"]),
    ("!pip install -qU xgboost 'pandas>=2'", ["xgboost", "pandas>=2"]),
    ("%pip install -U -q -q duckduckgo_search", ["duckduckgo_search"]),
    ("!pip install -Ur requirements.txt", None),
    ("!pip install -Ue .", None),
    ("!pip install -qi https://example.org/simple x", None),
    ("!pip install -Uqq", None),
    ("!pip install --Uq x", None),
])
def test_combined_short_flags_are_read_as_the_flags(line, specs):
    assert movable_requirements(line) == specs


def test_the_fastai_install_line_is_moved_to_requirements(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(make_notebook("!pip install -Uqq fastai")))
    (tmp_path / "requirements.txt").write_text("pandas\n")
    result = lint(load(path), LintConfig(select=("NB203",), fix=True), project_root=tmp_path)
    assert result.fixed == 1
    assert result.file_edits[tmp_path / "requirements.txt"] == "pandas\nfastai\n"


# NB008: an empty cell with a tag means something.


def test_tagged_empty_cells_are_neither_reported_nor_deleted():
    cells = ("x = 1", {"source": "", "tags": ["parameters"]}, {"source": "", "tags": ["export"]},
             {"source": "  "}, "print(x)")
    nb = loads(nbformat.writes(make_notebook(*cells)))
    result = lint(nb, LintConfig(select=("NB008",), fix=True))
    assert [d.cell for d in result.diagnostics] == [] and result.fixed == 1
    assert [c.tags for c in result.fixed_notebook.cells] == [[], ["parameters"], ["export"], []]


# NB001: a repeated count does not stop the judging.


def test_a_count_repeated_far_apart_still_leaves_the_order_judged():
    cells = [{"source": f"x{i} = {i}", "execution_count": c}
             for i, c in enumerate((47, 48, 49, 35, 36, 49, 50))]
    found = findings(*cells, select=("NB001",))
    assert [d.message for d in found] == [
        "2 cells executed out of order: cell 4 ([35] after [49]), cell 5 ([36] after [49]);"
        " restart the kernel and run all cells"
    ]
