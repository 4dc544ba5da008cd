"""The tests exporter: one function per test cell, importing the exported module."""

from __future__ import annotations

import pytest
from export_support import generate

from nbprod.errors import ExportError


def test_each_test_cell_becomes_a_function_importing_the_module():
    files = generate(
        {"source": "import math\n\ndef area(r):\n    return math.pi * r * r", "tags": ["export"]},
        {"source": "# area of the unit circle\nassert area(1) == math.pi", "tags": ["test"]},
        {"source": "assert area(0) == 0", "tags": ["test"]},
        package="geo",
    )
    text = files["tests/test_nb.py"]
    assert "import math\n\nfrom geo.nb import area\n" in text
    assert "# %% [cell c2] from nb.ipynb\ndef test_area_of_the_unit_circle():\n" in text
    assert "def test_c3():\n    assert area(0) == 0" in text


def test_a_test_cell_the_notebook_does_not_run_becomes_a_skipped_test(tmp_path):
    # nbdev's `#| eval: false` and `#| notest`: a test that fails on purpose, or needs what
    # CI lacks. `pytest --nbprod` skips such a cell; the exported test is skipped too.
    files = generate(
        {"source": "def f():\n    return 1", "tags": ["export"]},
        {"source": "#| eval: false\nassert f() == 2", "tags": ["test"]},
        {"source": "#| notest\nassert f() == 3", "tags": ["test"]},
        {"source": "assert f() == 1", "tags": ["test"]},
        package="pkg",
    )
    text = files["tests/test_nb.py"]
    assert text.count("@pytest.mark.skip(") == 2
    assert '@pytest.mark.skip(reason="#| eval: false in the notebook")\ndef test_c2():' in text
    assert '@pytest.mark.skip(reason="#| notest in the notebook")\ndef test_c3():' in text
    assert "import pytest\n" in text and "noqa" not in text
    assert "def test_c4():\n    assert f() == 1" in text


def test_a_test_using_an_untagged_name_names_both_cells():
    with pytest.raises(ExportError) as info:
        generate(
            {"source": "def f(x):\n    return x", "tags": ["export"]},
            "data = [1, 2]",
            {"source": "assert f(data) == [1, 2]", "tags": ["test"]},
        )
    message = str(info.value)
    assert "cell 3 (id 'c3'), line 1: the test uses 'data', defined only in cell 2" in message
    assert "tag cell 2 (id 'c2') export" in message


def test_parameters_used_by_tests_are_copied():
    files = generate(
        {"source": "limit: int = 3  # the limit", "tags": ["parameters"]},
        {"source": "def under(x, n):\n    return x < n", "tags": ["export"]},
        {"source": "assert under(1, limit)", "tags": ["test"]},
    )
    text = files["tests/test_nb.py"]
    assert "# %% [cell c1] from nb.ipynb\nlimit: int = 3  # the limit\n" in text


def test_duplicate_test_names_get_suffixes():
    files = generate(
        {"source": "# same\nassert True", "tags": ["test"]},
        {"source": "# same\nassert 1", "tags": ["test"]},
    )
    text = files["tests/test_nb.py"]
    assert "def test_same():" in text and "def test_same_2():" in text


def test_a_test_cell_of_comments_only_still_compiles():
    files = generate({"source": "# nothing yet", "tags": ["test"]})
    compile(files["tests/test_nb.py"], "t.py", "exec")


def test_unused_locals_in_test_functions_are_exempted_for_ruff():
    files = generate({"source": "a, b = divmod(7, 2)\nc = 3\nassert a", "tags": ["test"]})
    assert "# ruff: noqa: F841, RUF059, RUF100" in files["tests/test_nb.py"]
