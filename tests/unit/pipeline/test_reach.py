"""Reach: which project definitions a step's code uses, through imports, name by name."""

from __future__ import annotations

from nbprod.pipeline.reach import WHOLE, local_module_finder, reached_code, runs_processes

STEPS = '''
from pkg.helpers import clean, SCALE
import numpy as np

def load(path):
    return clean(open(path).read())

def train(rows):
    return np.mean(rows) * SCALE
'''

HELPERS = '''
from .text import strip_all
SCALE = 2

def clean(text):
    return strip_all(text).split()

def unrelated():
    return 1
'''


def _project(tmp_path, helpers=HELPERS):
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "helpers.py").write_text(helpers)
    (tmp_path / "pkg" / "text.py").write_text("def strip_all(t):\n    return t.strip()\n")
    return local_module_finder(tmp_path, {"pkg.steps": STEPS})


def test_a_step_reaches_the_helpers_it_calls_and_what_they_call(tmp_path):
    find = _project(tmp_path)
    load = reached_code([("pkg.steps", "load")], find)
    assert {"pkg.steps:load", "pkg.helpers:clean", "pkg.text:strip_all"} <= set(load)
    assert "pkg.helpers:SCALE" not in load and "pkg.helpers:unrelated" not in load
    train = reached_code([("pkg.steps", "train")], find)
    assert "pkg.helpers:SCALE" in train and "pkg.helpers:clean" not in train
    assert not any(key.startswith("numpy") for key in train)  # installed: not followed


def test_editing_an_unrelated_helper_changes_nothing_reached(tmp_path):
    before = reached_code([("pkg.steps", "load")], _project(tmp_path))
    changed = HELPERS.replace("return 1", "return 2")
    assert reached_code([("pkg.steps", "load")], _project(tmp_path, changed)) == before
    changed = HELPERS.replace(".split()", ".split(',')")
    assert reached_code([("pkg.steps", "load")], _project(tmp_path, changed)) != before


def test_notebook_code_with_magics_reaches_a_local_module(tmp_path):
    (tmp_path / "mylib.py").write_text("def clean(x):\n    return x\n")
    find = local_module_finder(tmp_path, {})
    cells = "%matplotlib inline\nfrom mylib import clean\n!ls\ndata = clean([1])"
    reached = reached_code([("<nb>", WHOLE)], find, extra={"<nb>": cells})
    assert "mylib:clean" in reached


def test_a_module_used_as_a_whole_is_reached_whole(tmp_path):
    (tmp_path / "mylib.py").write_text("X = 1\ndef f():\n    return X\n")
    find = local_module_finder(tmp_path, {"steps": "import mylib as m\ndef s():\n    return m\n"})
    assert "mylib:*" in reached_code([("steps", "s")], find)


def test_the_shell_line_named_as_the_reason_shows_no_token():
    token = "ghp_1234567890abcdefghijklmnopqrstuvwxyz"
    reason = runs_processes([f"!git clone https://{token}@github.com/acme/data.git"])
    assert reason is not None and reason.startswith("it runs shell commands (!git clone")
    assert "1234567" not in reason


def test_an_import_inside_a_step_function_reaches_the_module(tmp_path):
    (tmp_path / "mylib.py").write_text("def g(x):\n    return x + 1\n\ndef h():\n    return 0\n")
    steps = ("def one(k):\n    from mylib import g\n    return g(k)\n\n"
             "def two(k):\n    import mylib\n    return mylib.g(k)\n\n"
             "def three():\n    return 3\n")
    find = local_module_finder(tmp_path, {"steps": steps})
    for step in ("one", "two"):
        reached = reached_code([("steps", step)], find)
        assert "mylib:g" in reached and "mylib:h" not in reached, step
    assert "mylib:g" not in reached_code([("steps", "three")], find)
    notebook = "def f(k):\n    from mylib import g\n    return g(k)\nf(1)\n"
    assert "mylib:g" in reached_code([("<notebook>", WHOLE)], find, extra={"<notebook>": notebook})


def test_a_module_beside_the_notebook_is_found_before_the_projects(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "helpers.py").write_text("def f():\n    return 1\n")
    (tmp_path / "helpers.py").write_text("def f():\n    return 'root'\n")
    code = {"<notebook>": "from helpers import f\nf()\n"}
    beside = local_module_finder(tmp_path, {}, first=tmp_path / "notebooks")
    assert "return 1" in reached_code([("<notebook>", WHOLE)], beside, extra=code)["helpers:f"]
    at_root = local_module_finder(tmp_path, {})
    assert "'root'" in reached_code([("<notebook>", WHOLE)], at_root, extra=code)["helpers:f"]
