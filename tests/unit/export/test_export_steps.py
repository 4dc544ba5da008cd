"""The steps exporter: arguments, returns and parameters from def-use, the Pipeline IR."""

from __future__ import annotations

import json
import warnings

import pytest
from export_support import generate

from nbprod.errors import ExportError, NbprodWarning
from nbprod.pipeline_ir import Pipeline


def _pipeline(files) -> Pipeline:
    return Pipeline.from_dict(json.loads(files["nb_pipeline.json"]))


def _namespace(files) -> dict:
    namespace: dict = {}
    exec(compile(files["nb_pipeline.py"], "nb_pipeline.py", "exec"), namespace)
    return namespace


def test_arguments_returns_and_parameters_come_from_def_use():
    files = generate(
        {"source": "size: int = 4  # how many\nscale = 2.0", "tags": ["parameters"]},
        {"source": "values = list(range(size))", "tags": ["step:load"]},
        {"source": "doubled = [v * scale for v in values]\nunused = 1", "tags": ["step:scale"]},
        {"source": "total = sum(doubled) + len(values)", "tags": ["step:sum"]},
    )
    pipeline = _pipeline(files)
    load, scale, total = pipeline.steps
    assert (load.args, load.returns, load.parameters) == ((), ("values",), {"size": 4})
    assert (scale.args, scale.returns, scale.parameters) == (("values",), ("doubled",),
                                                             {"scale": 2.0})
    assert total.args == ("doubled", "values") and total.needs == ("scale", "load")
    assert load.function == "nb_pipeline:load" and load.cells == ("c2",)
    assert [(p.name, p.type, p.default, p.help) for p in pipeline.parameters] == [
        ("size", "int", 4, "how many"), ("scale", "float", 2.0, None)]
    text = files["nb_pipeline.py"]
    assert "def load(*, size: int = 4):" in text
    assert "def scale_step(values, *, scale: float = 2.0):" in text  # the name is taken
    assert "def sum_step(doubled, values):" in text
    namespace = _namespace(files)
    assert namespace["run"]() == {"values": [0, 1, 2, 3], "doubled": [0.0, 2.0, 4.0, 6.0]}
    assert namespace["run"](size=2)["doubled"] == [0.0, 2.0]


def test_steps_follow_the_runner_calling_convention():
    files = generate(
        {"source": "a = 1\nb = 2", "tags": ["step:first"]},
        {"source": "c = a + b", "tags": ["step:second"]},
        {"source": "print(c)", "tags": ["step:third"]},
    )
    namespace = _namespace(files)
    assert namespace["first"]() == {"a": 1, "b": 2}
    assert namespace["second"](a=1, b=2) == 3  # one return value: returned as is
    assert namespace["third"](c=3) is None


def test_export_cells_are_imported_and_import_cells_copied():
    files = generate(
        "import math",
        {"source": "def half(x):\n    return x / 2", "tags": ["export"]},
        {"source": "r = half(math.sqrt(16))", "tags": ["step:compute"]},
        package="pkg",
    )
    text = files["pkg/nb_pipeline.py"]
    assert "from pkg.nb import half" in text
    assert "# %% [cell c1] from nb.ipynb\nimport math" in text


def test_a_name_from_a_plain_cell_names_both_cells():
    with pytest.raises(ExportError) as info:
        generate("data = [1]", {"source": "n = len(data)", "tags": ["step:count"]})
    assert ("cell 2 (id 'c2'), line 1: step 'count' uses 'data', defined in cell 1 (id 'c1')"
            " (untagged)") in str(info.value)


def test_interleaved_steps_are_refused():
    with pytest.raises(ExportError, match="keep each step's cells together"):
        generate(
            {"source": "x = 1", "tags": ["step:a"]},
            {"source": "y = x + 1", "tags": ["step:b"]},
            {"source": "x = 5", "tags": ["step:a"]},
        )


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("handle = open('data.txt')", "an open file"),
        ("import socket\nconn = socket.socket()", "a socket"),
        ("import sqlite3\ndb = sqlite3.connect(':memory:')", "a connection"),
        ("numbers = (i for i in range(3))", "a generator"),
        ("key = lambda row: row[0]", "a lambda"),
        ("import threading\nguard = threading.Lock()", "a lock"),
        ("from threading import RLock\nguard = RLock()", "a lock"),
    ],
)
def test_unserialisable_values_crossing_steps_are_reported(code, what):
    name = code.split("\n")[-1].split(" =")[0]
    with pytest.raises(ExportError) as info:
        generate({"source": code, "tags": ["step:make"]},
                 {"source": f"print({name})", "tags": ["step:use"]})
    message = str(info.value)
    assert f"{name!r} ({what}" in message and "goes from step 'make' to step 'use'" in message


def test_every_unserialisable_value_is_listed_at_once():
    with pytest.raises(ExportError) as info:
        generate(
            {"source": "def gen():\n    yield 1", "tags": ["export"]},
            {"source": "f = open('x')\ng = gen()", "tags": ["step:make"]},
            {"source": "print(f, g)", "tags": ["step:use"]},
        )
    message = str(info.value)
    assert "'f' (an open file" in message and "'g' (a generator" in message


def test_a_value_made_serialisable_again_is_fine():
    files = generate(
        {"source": "handle = open(__file__)\nhandle = 'closed'", "tags": ["step:make"]},
        {"source": "print(handle)", "tags": ["step:use"]},
    )
    assert "nb_pipeline.py" in files


def test_step_names_become_function_names():
    files = generate({"source": "x = 1", "tags": ["step:Load data!"]},
                     {"source": "y = 2", "tags": ["step:run"]},
                     {"source": "z = 3", "tags": ["step:class"]})
    text = files["nb_pipeline.py"]
    assert "def load_data():" in text and "def run_step():" in text
    assert "def class_step():" in text


def test_star_import_in_a_step_cell_moves_to_the_module_top():
    files = generate({"source": "from math import *\nx = floor(pi)", "tags": ["step:a"]},
                     {"source": "print(x)", "tags": ["step:b"]})
    text = files["nb_pipeline.py"]
    assert "\nfrom math import *\n" in text
    assert _namespace(files)["run"]() == {"x": 3}
    with pytest.raises(ExportError, match="star import inside a block"):
        generate({"source": "if True:\n    from math import *", "tags": ["step:a"]})


def test_two_parameters_cells_are_refused():
    with pytest.raises(ExportError, match="more than one parameters cell"):
        generate({"source": "a = 1", "tags": ["parameters"]},
                 {"source": "b = 2", "tags": ["parameters"]},
                 {"source": "c = a + b", "tags": ["step:s"]})


def test_display_in_a_step_is_imported_from_ipython():
    files = generate({"source": "for i in range(2):\n    display(i)", "tags": ["step:show"]})
    assert "from IPython.display import display" in files["nb_pipeline.py"]


def test_bare_display_expressions_stay_out_of_step_bodies():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = generate(
            {"source": "import matplotlib.pyplot as plt\nrows = [3, 1, 2]", "tags": ["step:a"]},
            {"source": "rows.sort()\nrows\nlen(rows)\nplt.show()", "tags": ["step:a"]})
    text = files["nb_pipeline.py"]
    assert "rows.sort()" in text
    assert "\n    rows\n" not in text and "len(rows)" not in text and "plt.show()" not in text
    notes = [str(w.message) for w in caught if issubclass(w.category, NbprodWarning)]
    assert sum("display expressions are left out" in n for n in notes) == 1


def test_star_and_named_imports_of_one_module_stay_apart():
    from nbprod.export.render import import_block

    assert import_block(["from os import *", "from os import sep", "import sys"], "pkg") == [
        "import sys", "from os import *", "from os import sep"]


def test_a_module_imported_in_one_step_is_imported_again_not_passed():
    files = generate({"source": "import json\nraw = json.dumps([1])", "tags": ["step:a"]},
                     {"source": "data = json.loads(raw)", "tags": ["step:b"]})
    b = _pipeline(files).step("b")
    assert b.args == ("raw",)
    assert "\nimport json\n" in files["nb_pipeline.py"].split("__all__")[0]
    assert _namespace(files)["run"]() == {"raw": "[1]"}
