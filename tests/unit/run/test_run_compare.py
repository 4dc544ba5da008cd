"""Tolerant output comparison for ``nbprod reproduce``."""

from __future__ import annotations

import pytest
from notebook_builder import make_notebook

from nbprod.run.compare import Tolerance, compare_notebooks, normalise, texts_match


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<Model object at 0x7f3a2b1c9d10>", "<Model object at 0xADDR>"),
        ("saved at 2026-11-22T12:44:15.123456+00:00", "saved at <TIMESTAMP>"),
        ("started 2024-01-02 03:04:05", "started <TIMESTAMP>"),
        ("id 123e4567-e89b-12d3-a456-426614174000 done", "id <UUID> done"),
        ("wrote /tmp/pytest-of-root/x1/out.csv.", "wrote <TMP>"),
        ("plain 2024-01-02 date stays", "plain 2024-01-02 date stays"),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_numbers_within_tolerance():
    assert texts_match("loss 0.123456789", "loss 0.123456790")
    assert not texts_match("loss 0.1234", "loss 0.1300")
    assert texts_match("loss 0.1234", "loss 0.1300", Tolerance(rtol=0.1))
    assert texts_match("[1.0, 2.5e-10]", "[1.0000001, 2.6e-10]", Tolerance(rtol=1e-5, atol=1e-9))
    assert texts_match("nan", "nan")


def test_integers_and_text_compare_exactly():
    assert not texts_match("rows: 100", "rows: 101")
    assert not texts_match("float64", "float32")
    assert not texts_match("a b", "a  b")
    assert not texts_match("1 2", "1 2 3")
    assert texts_match("2", "2.0000001")  # one side written as a float: tolerance applies


def _outputs(*texts):
    return [{"output_type": "stream", "name": "stdout", "text": t} for t in texts]


def test_compare_notebooks_names_first_differing_cell():
    injected = {"source": "a = 1", "tags": ["injected-parameters"]}
    old = make_notebook(
        {"source": "a = 0", "tags": ["parameters"]}, injected, "# md? no, code",
        {"source": "print(x)", "outputs": _outputs("value 1.0\n")},
        {"source": "print(y)", "outputs": _outputs("object at 0x7fff0001\n")},
        {"source": "print(z)", "outputs": _outputs("count 3\n")},
    )
    new = make_notebook(
        {"source": "a = 0", "tags": ["parameters"]}, injected, "# md? no, code",
        {"source": "print(x)", "outputs": _outputs("value ", "1.0000000001\n")},
        {"source": "print(y)", "outputs": _outputs("object at 0x7fff9999\n")},
        {"source": "print(z)", "outputs": _outputs("count 4\n")},
    )
    difference = compare_notebooks(old, new)
    assert difference is not None
    # Cell 6 in the executed notebook, cell 5 of the input (the injected cell is not counted).
    assert (difference.cell, difference.cell_id) == (5, "c6")
    assert "output 1 (stdout) differs" in difference.message()
    assert "'count 3\\n'" in difference.message()


def test_stderr_ignored_images_by_presence_and_output_count():
    image = {"output_type": "display_data", "data": {"image/png": "AAAA"}, "metadata": {}}
    other_image = {"output_type": "display_data", "data": {"image/png": "BBBB"}, "metadata": {}}
    warn = {"output_type": "stream", "name": "stderr", "text": "DeprecationWarning: x\n"}
    old = make_notebook({"source": "plot()", "outputs": [warn, image]})
    new = make_notebook({"source": "plot()", "outputs": [other_image]})
    assert compare_notebooks(old, new) is None
    fewer = make_notebook({"source": "plot()", "outputs": []})
    difference = compare_notebooks(old, fewer)
    assert difference is not None and "0 output(s) instead of 1" in difference.reason


def test_errors_compared_by_name_and_value():
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad 1", "traceback": []}
    changed = dict(error, evalue="bad 2")
    old = make_notebook({"source": "f()", "outputs": [error]})
    assert compare_notebooks(old, make_notebook({"source": "f()", "outputs": [error]})) is None
    assert compare_notebooks(old, make_notebook({"source": "f()", "outputs": [changed]}))


def test_missing_cell_is_a_difference():
    old = make_notebook("a", "b")
    new = make_notebook("a")
    difference = compare_notebooks(old, new)
    assert difference is not None and difference.cell == 2
    assert "missing" in difference.reason


def test_status_difference_names_each_side_in_its_own_words(tmp_path):
    """An interrupted original re-run successfully: no 'cell None', no message quoted twice."""
    from types import SimpleNamespace

    from nbprod.run.reproduction import _first_difference

    original = {"status": "interrupted",
                "error": {"cell": None, "cell_id": None,
                          "message": "nbprod stopped: BrokenPipeError"}}
    result = SimpleNamespace(status="succeeded", receipt={"error": None})
    difference = _first_difference(original, result, tmp_path / "none.ipynb", Tolerance())
    assert difference.message() == (
        "the run as a whole: the run succeeded, the original interrupted: expected"
        " 'nbprod stopped: BrokenPipeError', got 'succeeded'"
    )
