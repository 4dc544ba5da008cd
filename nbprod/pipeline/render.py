"""Draw a planned pipeline: as text for the terminal, Mermaid for docs, SVG for the lab panel.

The SVG needs no Graphviz: steps are placed in layers (a step's layer is one more than its
deepest dependency) and edges are straight arrows between layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from .plan import Plan

__all__ = ["FORMATS", "dag_svg", "layers", "render"]

FORMATS = ("text", "mermaid", "svg")

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 160, 44, 40, 56, 20


def render(plan: Plan, fmt: str, status: Mapping[str, str] | None = None) -> str:
    """The DAG of ``plan`` in ``fmt`` (text, mermaid or svg).

    Parameters
    ----------
    plan:
        The planned pipeline.
    fmt:
        One of ``FORMATS``.
    status:
        Optional per-step note (e.g. "cached"), shown beside each step.
    """
    status = status or {}
    if fmt == "mermaid":
        return _mermaid(plan, status)
    if fmt == "svg":
        return dag_svg(plan.pipeline.name, plan.order, plan.upstream, status)
    return _text(plan, status)


def layers(order: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Steps grouped by depth: layer 0 has no dependencies, layer n depends on layer n-1.

    ``order`` lists every step, dependencies first (a plan's order, or a pipeline receipt's).
    """
    depth: dict[str, int] = {}
    for name in order:
        ups = [u for u in upstream.get(name, ()) if u in depth]
        depth[name] = 1 + max((depth[u] for u in ups), default=-1)
    grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in order:
        grouped[depth[name]].append(name)
    return grouped


def _describe(plan: Plan, name: str) -> str:
    step = plan.step(name)
    if step.notebook:
        return step.notebook
    return step.function or ""


def _text(plan: Plan, status: Mapping[str, str]) -> str:
    lines = [f"pipeline {plan.pipeline.name} ({len(plan.order)} steps)"]
    for name in plan.order:
        ups = plan.upstream.get(name, ())
        after = f"  <- {', '.join(ups)}" if ups else ""
        note = f"  [{status[name]}]" if name in status else ""
        lines.append(f"  {name}  ({_describe(plan, name)}){after}{note}")
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    return "s_" + "".join(c if c.isalnum() else "_" for c in name)


def _mermaid(plan: Plan, status: Mapping[str, str]) -> str:
    lines = ["flowchart TD"]
    for name in plan.order:
        label = name + (f" ({status[name]})" if name in status else "")
        lines.append(f'    {_mermaid_id(name)}["{label.replace(chr(34), "#quot;")}"]')
    for name in plan.order:
        for up in plan.upstream.get(name, ()):
            lines.append(f"    {_mermaid_id(up)} --> {_mermaid_id(name)}")
    return "\n".join(lines) + "\n"


def dag_svg(name: str, order: Sequence[str], upstream: Mapping[str, Sequence[str]],
            status: Mapping[str, str]) -> str:
    """The DAG as a layered SVG drawing; ``status`` notes colour the steps.

    Takes the graph rather than a plan so that a report can draw a pipeline run from its
    receipt, as it ran, even after the project's pipeline changed.
    """
    grouped = layers(order, upstream)
    widest = max((len(layer) for layer in grouped), default=1)
    width = 2 * MARGIN + widest * BOX_W + (widest - 1) * GAP_X
    height = 2 * MARGIN + len(grouped) * BOX_H + (len(grouped) - 1) * GAP_Y
    centre: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(grouped):
        row_width = len(layer) * BOX_W + (len(layer) - 1) * GAP_X
        left = (width - row_width) / 2
        for col, step in enumerate(layer):
            x = left + col * (BOX_W + GAP_X) + BOX_W / 2
            y = MARGIN + row * (BOX_H + GAP_Y) + BOX_H / 2
            centre[step] = (x, y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="13">',
        f"<title>pipeline {escape(name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8"'
        ' markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"'
        ' fill="#555"/></marker></defs>',
    ]
    for step in order:
        x2, y2 = centre[step]
        for up in upstream.get(step, ()):
            if up not in centre:
                continue
            x1, y1 = centre[up]
            parts.append(
                f'<line class="edge" data-from="{escape(up)}" data-to="{escape(step)}"'
                f' x1="{x1:.1f}" y1="{y1 + BOX_H / 2:.1f}" x2="{x2:.1f}" y2="{y2 - BOX_H / 2:.1f}"'
                ' stroke="#555" marker-end="url(#arrow)"/>'
            )
    for step in order:
        x, y = centre[step]
        note = status.get(step)
        fill = {"cached": "#e8f5e9", "failed": "#ffebee", "error": "#ffebee",
                "skipped": "#fff8c5"}.get(note or "", "#e3f2fd")
        parts.append(
            f'<g class="step" data-step="{escape(step)}">'
            f'<rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{BOX_W}"'
            f' height="{BOX_H}" rx="6" fill="{fill}" stroke="#1565c0"/>'
            f'<text x="{x:.1f}" y="{y + (-2 if note else 4):.1f}" text-anchor="middle">'
            f"{escape(_fit(step))}</text>"
            + (f'<text x="{x:.1f}" y="{y + 14:.1f}" text-anchor="middle" font-size="10"'
               f' fill="#555">{escape(_fit(note))}</text>' if note else "")
            + "</g>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _fit(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
