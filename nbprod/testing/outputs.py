"""Comparing a cell's new outputs with its stored ones, with normalisers and tolerances.

Outputs are flattened the way nbval does it, so verdicts agree with ``pytest --nbval``: streams
of the same name are joined (``\\r`` and backspaces applied), rich outputs are split by MIME type,
errors keep ``ename`` and ``evalue``; metadata, execution counts and tracebacks are ignored, and
values are grouped by key so the relative order of different kinds of output does not matter.

Unlike nbval, volatile text is normalised before comparing (memory addresses, timestamps,
UUIDs, temporary paths, object ids, ANSI colours), numbers with a decimal point match within
``rtol``/``atol`` (the same normalisers and tolerance rule as ``nbprod reproduce``, from
``nbprod.run.compare``), and the user's regex sanitizers from ``[tool.nbprod.test]`` apply to
both sides first.
"""

from __future__ import annotations

import difflib
import re
import struct
from base64 import b64decode
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..run.compare import Tolerance, texts_match
from ..run.compare import normalise as run_normalise
from .config import Sanitizer

__all__ = ["Mismatch", "compare_outputs", "flatten", "normalise"]

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
# Keys whose values are random by construction (widget model ids).
_IGNORED_MIME = ("application/vnd.jupyter.widget-view+json",)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Object ids printed as ``id=140234...``; addresses, UUIDs, timestamps and temporary paths are
# handled by the normalisers ``nbprod reproduce`` uses (nbprod.run.compare).
_OBJECT_ID = re.compile(r"\bid[=:]\s*\d{9,}\b")


@dataclass(frozen=True)
class Mismatch:
    """Why the outputs of one cell differ: a one-line reason and a unified diff."""

    reason: str
    diff: str


def normalise(text: str, sanitizers: Iterable[Sanitizer] = ()) -> str:
    """Apply the user's sanitizers, then the built-in normalisers, to one output text."""
    for sanitizer in sanitizers:
        text = sanitizer.pattern.sub(sanitizer.replace, text)
    text = _OBJECT_ID.sub("id=<ID>", _ANSI.sub("", text))
    return run_normalise(text)


def flatten(outputs: list, *, images: str = "skip") -> dict[str, list[str]]:
    """Group a cell's outputs as ``key -> [text, ...]`` (nbval's layout).

    Parameters
    ----------
    outputs:
        nbformat output nodes (or plain dicts).
    images:
        ``"skip"`` drops image outputs; ``"loose"`` keeps only their type and pixel size.
    """
    flat: dict[str, list[str]] = defaultdict(list)
    for output in _coalesce_streams(outputs):
        kind = output.get("output_type")
        if kind == "stream":
            flat[output.get("name", "stdout")].append(_text(output.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            for mime, value in sorted(output.get("data", {}).items()):
                if mime in _IGNORED_MIME:
                    continue
                if mime in IMAGE_TYPES:
                    if images == "loose":
                        flat[mime].append(_image_summary(mime, value))
                    continue
                flat[mime].append(value if isinstance(value, str) else _text(value))
        elif kind == "error":
            flat["ename"].append(str(output.get("ename", "")))
            flat["evalue"].append(str(output.get("evalue", "")))
    return dict(flat)


def compare_outputs(
    stored: list,
    new: list,
    *,
    sanitizers: Iterable[Sanitizer] = (),
    rtol: float = 1e-5,
    atol: float = 1e-8,
    images: str = "skip",
) -> Mismatch | None:
    """Compare a cell's stored outputs with the ones it just produced.

    Returns
    -------
    Mismatch | None
        ``None`` when they agree after normalisation, else the first difference found.
    """
    sanitizers = tuple(sanitizers)
    before = _normalised(flatten(stored, images=images), sanitizers)
    after = _normalised(flatten(new, images=images), sanitizers)
    missing = sorted(set(before) - set(after))
    extra = sorted(set(after) - set(before))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        return Mismatch(f"output kinds differ ({'; '.join(parts)})", _diff_all(before, after))
    for key in sorted(before):
        if len(before[key]) != len(after[key]):
            return Mismatch(
                f"{len(after[key])} {key!r} output(s) where {len(before[key])} were stored",
                _diff_all(before, after),
            )
        for old, fresh in zip(before[key], after[key], strict=True):
            if not texts_match(old, fresh, Tolerance(rtol=rtol, atol=atol)):
                return Mismatch(f"{key!r} output differs", _diff(old, fresh))
    return None


def _normalised(flat: dict[str, list[str]], sanitizers: tuple) -> dict[str, list[str]]:
    return {key: [normalise(value, sanitizers) for value in values] for key, values in flat.items()}


def _diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "stored", "new", lineterm="", n=2
    )
    return "\n".join(lines)


def _diff_all(before: dict[str, list[str]], after: dict[str, list[str]]) -> str:
    return _diff(_render(before), _render(after))


def _render(flat: dict[str, list[str]]) -> str:
    return "\n".join(f"[{key}]\n{value}" for key in sorted(flat) for value in flat[key])


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _coalesce_streams(outputs: list) -> list[dict]:
    """Join streams by name, applying carriage returns and backspaces as a terminal would."""
    merged: list[dict] = []
    streams: dict[str, dict] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            name = output.get("name", "stdout")
            if name in streams:
                streams[name]["text"] += _text(output.get("text", ""))
                continue
            text = _text(output.get("text", ""))
            streams[name] = {"output_type": "stream", "name": name, "text": text}
            merged.append(streams[name])
        else:
            merged.append(output)
    for stream in streams.values():
        stream["text"] = _terminal(stream["text"])
    return merged


_BACKSPACE = re.compile(r"[^\n]\x08")
_CARRIAGE = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)


def _terminal(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _BACKSPACE.sub("", text)
    return _CARRIAGE.sub("", text)


def _image_summary(mime: str, value) -> str:
    """A loose description of an image: its type and, for PNG, its pixel size."""
    if mime == "image/png":
        try:
            # The first 32 base64 characters hold the signature and the IHDR width/height.
            header = b64decode("".join(_text(value).split())[:32])
            width, height = struct.unpack(">II", header[16:24])
            return f"<{mime} {width}x{height}>"
        except (ValueError, struct.error):
            pass
    return f"<{mime}>"
