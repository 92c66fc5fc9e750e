"""The pipeline graph as a picture: a standalone SVG, built as text with no drawing package.

    from pipelines.svg import render_svg
    Path("retrain.svg").write_text(render_svg(graph, spec))            # the DAG
    Path("run.svg").write_text(render_svg(graph, spec, run_record))     # with states and times

    raymaker pipeline graph examples/pipeline_retrain.yaml --svg retrain.svg
    raymaker pipeline graph RUN --svg run.svg

Steps are rounded boxes in columns by their longest distance from a root, so every arrow
points right and a step stands to the right of everything it waits for; within a column they
keep the graph's order. An arrow that skips columns runs in a lane above the boxes it passes,
not behind them, where it would look like an arrow from each of them. With a run record each
box shows its state and duration and is filled by state. Every box is a ``<g class="step"
data-step=… data-state=…>`` and every arrow a ``<path class="edge" data-from=… data-to=…>``,
for a stylesheet or a test to find them. No Graphviz: the picture is made where the pipeline
is checked, on a laptop without extra tools.
"""

from __future__ import annotations

from html import escape

from pipelines.graph import Graph
from pipelines.record import RunRecord, StepRecord
from pipelines.spec import PipelineSpec

STATE_COLORS = {
    "succeeded": "#b7e4c7",  # green
    "cached": "#99e2d6",  # teal
    "skipped": "#d9d9d9",  # grey
    "failed": "#f4a6a6",  # red
    "blocked": "#fdc98a",  # orange
    "running": "#a8c8f0",  # blue
    "pending": "#ffffff",  # white
}
_INK = "#333333"
_MARGIN, _HEADER, _GAP_X, _GAP_Y, _LANE = 20, 36, 60, 24, 8
_MIN_W, _LINE = 150, 16
# No font metrics without a renderer: a generous width per character keeps text inside boxes.
_CHAR_W = {14: 8.6, 13: 8.0, 11: 6.8}


def render_svg(graph: Graph, spec: PipelineSpec, run: RunRecord | None = None) -> str:
    """The DAG of ``spec`` as SVG text; with ``run``, each step's state, duration and color."""
    steps = run.steps if run is not None else {}
    lines = {name: _lines(name, spec.steps[name].kind, steps.get(name)) for name in graph.order}
    width = max(_MIN_W, *(_text_w(text, size) + 24 for box in lines.values() for text, size in box))
    height = 16 + _LINE * max(len(box) for box in lines.values())
    layer = _layers(graph)
    edges = [(u, d) for d in graph.order for u in graph.order if u in graph.upstream[d]]
    long = [(u, d) for u, d in edges if layer[d] - layer[u] > 1]
    at = _positions(graph, layer, width, height, top=_MARGIN + _HEADER + _LANE * len(long))
    title = f"pipeline {spec.name}"
    if run is not None:
        title += f" · run {run.run_id}: {run.state}"
    canvas_w = max(max(x for x, _ in at.values()) + width, _MARGIN + _text_w(title, 14)) + _MARGIN
    canvas_h = max(y for _, y in at.values()) + height + _MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{canvas_w:g}" height="{canvas_h:g}" '
        f'viewBox="0 0 {canvas_w:g} {canvas_h:g}" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{_INK}"/></marker>'
        "</defs>",
        '<rect class="background" width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="{_MARGIN}" y="{_MARGIN + 12}" font-size="14" font-weight="bold" '
        f'fill="{_INK}">{escape(title)}</text>',
    ]
    for up, down in edges:  # arrows first: boxes are drawn over their ends
        lane = None
        if (up, down) in long:
            between = [at[s][1] for s in graph.order if layer[up] < layer[s] < layer[down]]
            lane = min(between) - _LANE * (long.index((up, down)) + 1)
        out.append(_edge(up, down, at[up], at[down], width, height, lane))
    for name in graph.order:
        out.append(_box(name, lines[name], steps.get(name), at[name], width, height))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _lines(name: str, kind: str, record: StepRecord | None) -> list[tuple[str, int]]:
    """The box's text lines as (text, font size): name, kind, and the state when known."""
    lines = [(name, 13), (kind, 11)]
    if record is not None:
        took = record.duration_s
        shown = took is not None and record.state in ("succeeded", "failed")
        lines.append((f"{record.state} · {_duration(took)}" if shown else record.state, 11))
    return lines


def _layers(graph: Graph) -> dict[str, int]:
    """Each step's column: the longest path to it from a root (a root is column 0)."""
    layer: dict[str, int] = {}
    for name in graph.order:  # topological: every upstream step has its layer already
        layer[name] = 1 + max((layer[u] for u in graph.upstream[name]), default=-1)
    return layer


def _positions(
    graph: Graph, layer: dict[str, int], width: float, height: float, top: float
) -> dict[str, tuple[float, float]]:
    """Top-left corner of each box: rows in graph order, each column centred on the tallest."""
    columns: dict[int, list[str]] = {}
    for name in graph.order:
        columns.setdefault(layer[name], []).append(name)
    rows = max(len(column) for column in columns.values())
    at = {}
    for i, column in columns.items():
        first = top + (rows - len(column)) * (height + _GAP_Y) / 2
        for j, name in enumerate(column):
            at[name] = (_MARGIN + i * (width + _GAP_X), first + j * (height + _GAP_Y))
    return at


def _edge(up: str, down: str, start, end, width: float, height: float, lane=None) -> str:
    """An arrow from the right of ``up`` to the left of ``down``; with ``lane`` (a y above
    the columns between them) it climbs to the lane in the gap after ``up``, runs along it and
    comes down in the gap before ``down``."""
    x1, y1 = start[0] + width, start[1] + height / 2
    x2, y2 = end[0] - 2, end[1] + height / 2  # the arrow's tip just off the box's border
    q = _GAP_X / 4
    if lane is None:
        d = f"M{x1:g},{y1:g} C{x1 + 2 * q:g},{y1:g} {x2 - 2 * q:g},{y2:g} {x2:g},{y2:g}"
    else:
        d = (
            f"M{x1:g},{y1:g} C{x1 + q:g},{y1:g} {x1 + q:g},{lane:g} {x1 + 2 * q:g},{lane:g} "
            f"L{x2 - 2 * q:g},{lane:g} C{x2 - q:g},{lane:g} {x2 - q:g},{y2:g} {x2:g},{y2:g}"
        )
    return (
        f'<path class="edge" data-from="{escape(up)}" data-to="{escape(down)}" d="{d}" '
        f'fill="none" stroke="{_INK}" stroke-width="1.4" marker-end="url(#arrow)"/>'
    )


def _box(name: str, lines, record: StepRecord | None, corner, width: float, height: float):
    x, y = corner
    state = record.state if record is not None else None
    fill = STATE_COLORS.get(state or "pending", "#ffffff")
    note = (record.error or record.reason) if record is not None else None
    parts = [
        f'<g class="step" data-step="{escape(name)}"'
        + (f' data-state="{escape(state)}">' if state else ">"),
        f"<title>{escape(name)}{f': {escape(note)}' if note else ''}</title>",
        f'<rect x="{x:g}" y="{y:g}" width="{width:g}" height="{height:g}" rx="8" ry="8" '
        f'fill="{fill}" stroke="{_INK}" stroke-width="1.2"/>',
    ]
    for i, (text, size) in enumerate(lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        parts.append(
            f'<text x="{x + 12:g}" y="{y + 8 + _LINE * i + size:g}" font-size="{size}"'
            f'{weight} fill="{_INK}">{escape(text)}</text>'
        )
    parts.append("</g>")
    return "\n".join(parts)


def _text_w(text: str, size: int) -> float:
    return len(text) * _CHAR_W[size]


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
