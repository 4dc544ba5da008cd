"""The worker side of a function step: shipped module sources, values, errors, printed text."""

from __future__ import annotations

import os
import sys

from nbprod.pipeline.worker import StepTask, describe_error, run_task

MODULES = {
    "shippedpkg.core": "def double(x):\n    return 2 * x\n",
    "shippedpkg.core_pipeline": (
        "from shippedpkg.core import double\n\n"
        "def load(n=3):\n    print('loading', n)\n    return list(range(n))\n\n"
        "def split(data):\n    return {'evens': [double(v) for v in data], 'count': len(data)}\n\n"
        "def explode(data):\n    raise KeyError('nope')\n"
    ),
}


def task(function, **kwargs):
    return StepTask("s", "/does/not/exist", function=f"shippedpkg.core_pipeline:{function}",
                    modules=MODULES, **kwargs)


def test_values_come_back_by_name_and_printing_is_kept():
    result = run_task(task("load", parameters={"n": 4}, returns=("data",)))
    assert result.status == "succeeded"
    assert result.values == {"data": [0, 1, 2, 3]}
    assert result.stdout == "loading 4\n"
    assert result.worker.endswith(f":{os.getpid()}")
    several = run_task(task("split", args={"data": [1, 2]}, returns=("evens", "count")))
    assert several.values == {"evens": [2, 4], "count": 2}


def test_a_raising_step_is_a_failed_result_with_its_traceback():
    result = run_task(task("explode", args={"data": []}))
    assert result.status == "failed"
    assert result.error["ename"] == "KeyError"
    assert "raise KeyError('nope')" in result.error["traceback"]
    assert describe_error(result.error) == "KeyError: 'nope'"


def test_describe_error_names_the_cell():
    assert describe_error({"cell": 3, "ename": "ValueError", "evalue": "bad"}) == \
        "cell 3: ValueError: bad"
    assert describe_error({"message": "kernel died"}) == "kernel died"
    assert describe_error(None) == "failed"


def test_a_worker_imports_the_projects_modules_as_they_are_at_each_step(tmp_path):
    """A worker outlives a pipeline run: a helper edited since, or another project's helper
    of the same name, must not be served from the modules it imported before."""
    steps = {"flowsteps": "def one():\n    from helperlib import value\n    return value()\n"}
    first, second = tmp_path / "first", tmp_path / "second"
    for root, answer in ((first, 1), (second, 2)):
        root.mkdir()
        (root / "helperlib.py").write_text(f"def value():\n    return {answer}\n")

    def step(root):
        return run_task(StepTask("one", str(root), function="flowsteps:one", modules=steps,
                                 returns=("v",))).values

    assert step(first) == {"v": 1}
    (first / "helperlib.py").write_text("def value():\n    return 10\n")
    assert step(first) == {"v": 10}
    assert step(second) == {"v": 2}
    assert str(first) not in sys.path
