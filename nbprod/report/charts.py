"""Small static SVG charts for reports: a recorded value against a swept parameter.

Static SVG, drawn here, so a report opens offline and in a mail attachment: no plotting
library in the page, none needed to make it.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

__all__ = ["scatter_svg"]

WIDTH, HEIGHT = 320, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 14, 14, 42


def scatter_svg(points: list[tuple[Any, float, str]], x_label: str, y_label: str) -> str:
    """Points ``(x, y, run_id)`` as an SVG scatter plot.

    Numeric ``x`` values get a linear axis; anything else (text, booleans) one slot per
    distinct value, in order of first appearance. Each point's tooltip names its run.
    """
    numeric = all(_is_number(x) for x, _, _ in points)
    if numeric:
        xs = [float(x) for x, _, _ in points]
        x_ticks = _ticks(min(xs), max(xs))
        x_lo, x_hi = x_ticks[0], x_ticks[-1]
        x_pos = xs
        x_tick_labels = [(t, _fmt(t)) for t in x_ticks]
    else:
        slots = list(dict.fromkeys(str(x) for x, _, _ in points))
        x_pos = [float(slots.index(str(x))) for x, _, _ in points]
        x_lo, x_hi = -0.5, len(slots) - 0.5
        x_tick_labels = [(float(i), s) for i, s in enumerate(slots)]
    ys = [y for _, y, _ in points]
    y_ticks = _ticks(min(ys), max(ys))
    y_lo, y_hi = y_ticks[0], y_ticks[-1]

    def sx(x: float) -> float:
        return LEFT + (x - x_lo) / ((x_hi - x_lo) or 1) * (WIDTH - LEFT - RIGHT)

    def sy(y: float) -> float:
        return HEIGHT - BOTTOM - (y - y_lo) / ((y_hi - y_lo) or 1) * (HEIGHT - TOP - BOTTOM)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11"'
        f' role="img" aria-label="{escape(y_label)} against {escape(x_label)}">',
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}"'
        f' height="{HEIGHT - TOP - BOTTOM}" fill="#fafbfc" stroke="#d0d7de"/>',
    ]
    for value, label in x_tick_labels:
        x = sx(value)
        parts.append(f'<line x1="{x:.1f}" y1="{HEIGHT - BOTTOM}" x2="{x:.1f}"'
                     f' y2="{HEIGHT - BOTTOM + 4}" stroke="#59636e"/>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 15}" text-anchor="middle"'
                     f' fill="#59636e">{escape(_clip(label))}</text>')
    for value in y_ticks:
        y = sy(value)
        parts.append(f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"'
                     ' stroke="#eaeef2"/>')
        parts.append(f'<text x="{LEFT - 7}" y="{y + 4:.1f}" text-anchor="end"'
                     f' fill="#59636e">{escape(_fmt(value))}</text>')
    for x, (_, y, run_id) in zip(x_pos, points, strict=True):
        parts.append(f'<circle class="point" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4.5"'
                     f' fill="#0969da" fill-opacity="0.8"><title>{escape(run_id)}:'
                     f' {escape(y_label)} = {escape(_fmt(y))}</title></circle>')
    parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 8}"'
                 f' text-anchor="middle" font-weight="600">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{(TOP + HEIGHT - BOTTOM) / 2:.1f}" text-anchor="middle"'
                 f' font-weight="600" transform="rotate(-90 12'
                 f' {(TOP + HEIGHT - BOTTOM) / 2:.1f})">{escape(y_label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo``..``hi`` (a span is made around a single value)."""
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / (count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step) * step
    ticks = [start]
    while ticks[-1] < hi - 1e-12 * max(abs(hi), 1):
        ticks.append(ticks[-1] + step)
    return [round(t, 12) for t in ticks]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _clip(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
