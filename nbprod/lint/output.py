"""Renderers for lint findings: one function per ``--output-format``."""

from __future__ import annotations

import json
from collections.abc import Callable

from .rule import Diagnostic

__all__ = ["FORMATS", "render", "diagnostic_to_json"]


def diagnostic_to_json(d: Diagnostic) -> dict:
    """A diagnostic as JSON data; field names follow ruff's JSON output where they overlap."""
    return {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "severity": d.severity.value,
        "filename": d.path,
        "cell": d.cell,
        "cell_id": d.cell_id,
        "output": d.output,
        "location": {"row": d.line, "column": d.column},
        "end_location": {"row": d.end_line or d.line, "column": d.end_column or d.column},
        "fix": (
            {"applicability": d.fix_applicability.value, "message": d.fix_title}
            if d.fix_applicability
            else None
        ),
        "url": d.url,
    }


def render_text(diagnostics: list[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        where = f"{d.path}:cell {d.cell}:" if d.cell else f"{d.path}:"
        if d.output:
            where += f"output {d.output}:"
        mark = " [*]" if d.fixable else ""
        lines.append(f"{where}{d.line}:{d.column}: {d.code}{mark} {d.message}")
    return "\n".join(lines)


def render_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([diagnostic_to_json(d) for d in diagnostics], indent=2, ensure_ascii=False)


FORMATS: dict[str, Callable[[list[Diagnostic]], str]] = {
    "text": render_text,
    "json": render_json,
}


def render(diagnostics: list[Diagnostic], fmt: str) -> str:
    """Render ``diagnostics`` (already sorted) in ``fmt``, one of ``FORMATS``."""
    return FORMATS[fmt](diagnostics)
