"""Output comparison for compare mode: nbval's layout, normalisers, tolerances, sanitizers."""

from __future__ import annotations

import base64
import re
import struct

from nbprod.testing.config import Sanitizer
from nbprod.testing.outputs import compare_outputs, flatten


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def data(mime, value):
    return {"output_type": "execute_result", "execution_count": 3, "metadata": {},
            "data": {mime: value}}


def png(width, height):
    size = struct.pack(">II", width, height)
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + size
    return base64.b64encode(header + b"\x08\x02\x00\x00\x00" + b"\x00" * 20).decode()


def test_streams_are_joined_and_carriage_returns_applied():
    flat = flatten([stream("a\n"), stream("50%\r100%\n"), stream("warn\n", "stderr")])
    assert flat == {"stdout": ["a\n100%\n"], "stderr": ["warn\n"]}


def test_errors_compare_name_and_value_not_traceback():
    stored = [{"output_type": "error", "ename": "KeyError", "evalue": "'k'", "traceback": ["a"]}]
    new = [{"output_type": "error", "ename": "KeyError", "evalue": "'k'", "traceback": ["b"]}]
    assert compare_outputs(stored, new) is None


def test_order_of_different_kinds_does_not_matter_but_values_do():
    assert compare_outputs([data("text/plain", "5"), stream("a\n")],
                           [stream("a\n"), data("text/plain", "5")]) is None
    mismatch = compare_outputs([stream("42\n")], [stream("41\n")])
    assert mismatch.reason == "'stdout' output differs"
    assert "-42" in mismatch.diff and "+41" in mismatch.diff


def test_missing_and_unexpected_kinds_are_named():
    mismatch = compare_outputs([stream("a\n")], [data("text/html", "<b>a</b>")])
    assert mismatch.reason == "output kinds differ (missing stdout; unexpected text/html)"


def test_volatile_text_is_normalised():
    stored = [stream("<Foo object at 0x7f1234567890> 2020-01-01 10:00:00 /tmp/tmpab12cd/x.csv\n"
                     "id=140234567890123 123e4567-e89b-12d3-a456-426614174000\n")]
    new = [stream("<Foo object at 0x7fabcdef0123> 2026-11-22 13:00:05 /tmp/tmpzz99yy/x.csv\n"
                  "id=140299999999999 00000000-1111-2222-3333-444444444444\n")]
    assert compare_outputs(stored, new) is None


def test_decimals_within_tolerance_integers_exact():
    assert compare_outputs([stream("loss 0.3000001\n")], [stream("loss 0.3\n")]) is None
    assert compare_outputs([stream("loss 0.31\n")], [stream("loss 0.3\n")]) is not None
    assert compare_outputs([stream("n = 100\n")], [stream("n = 101\n")]) is not None
    assert compare_outputs([stream("loss 0.31\n")], [stream("loss 0.3\n")], rtol=0.1) is None


def test_user_sanitizers_apply_to_both_sides_first():
    sanitizer = Sanitizer(re.compile(r"took \d+ ms"), "took N ms")
    stored, new = [stream("took 12 ms\n")], [stream("took 980 ms\n")]
    assert compare_outputs(stored, new) is not None
    assert compare_outputs(stored, new, sanitizers=[sanitizer]) is None


def test_images_skipped_by_default_or_compared_by_size():
    small, large = [data("image/png", png(10, 20))], [data("image/png", png(640, 480))]
    assert flatten(small, images="loose") == {"image/png": ["<image/png 10x20>"]}
    assert compare_outputs(small, large) is None
    mismatch = compare_outputs(small, large, images="loose")
    assert mismatch is not None and "10x20" in mismatch.diff and "640x480" in mismatch.diff
    assert compare_outputs(small, [data("image/png", png(10, 20))], images="loose") is None


def test_widget_model_ids_and_metadata_are_ignored():
    stored = [data("application/vnd.jupyter.widget-view+json", {"model_id": "a"})]
    new = [data("application/vnd.jupyter.widget-view+json", {"model_id": "b"})]
    assert compare_outputs(stored, new) is None
