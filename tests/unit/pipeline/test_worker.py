"""The worker side of a function step: shipped module sources, values, errors, printed text."""

from __future__ import annotations

import os

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
