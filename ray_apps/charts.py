"""Small inline-SVG charts: lines over epochs (or any x), lanes of marks, and rows of dots.

The training health report and the web console (``raymaker console``) draw with them. Ours, not
a plotting library's: the report is one self-contained HTML file (no script, no CDN) that opens
anywhere, MLflow's artifact view shows it as it is, and the console's pages need no script.

A NaN or infinite value — or one at or below zero on a log scale — cannot be drawn: the line
breaks there and a red × at the top of the plot marks the epoch, its ``<title>`` saying what
the value was. Every text is escaped; numbers are formatted here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 760, 250
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 14, 40
INSET = 10  # between the frame and the first / last epoch
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
# Each point gets a dot up to this many points a series; past it only isolated points do.
DOTS_UP_TO = 60


@dataclass(frozen=True)
class Series:
    """One line: ``(x, y)`` points in x order; a y that is NaN or infinite is a gap."""

    name: str
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Gap:
    series: str
    x: float
    value: float
    why: str  # "nan", "inf", "-inf" or "≤ 0 on a log scale"


def gaps(series: Sequence[Series], log_y: bool) -> list[Gap]:
    """The points a chart of ``series`` cannot draw, and why."""
    out = []
    for s in series:
        for x, y in s.points:
            if not math.isfinite(y):
                out.append(Gap(s.name, x, y, str(y)))
            elif log_y and y <= 0:
                out.append(Gap(s.name, x, y, "≤ 0 on a log scale"))
    return out


def line_chart(
    series: Sequence[Series],
    *,
    label: str,
    log_y: bool = False,
    x_label: str = "epoch",
    x_range: tuple[float, float] | None = None,
) -> str:
    """An ``<svg>`` with one polyline per unbroken stretch of each series (``data-series``);
    ``x_range`` (default: the series') lines up charts of the same run."""
    skipped = {(g.series, g.x) for g in gaps(series, log_y)}
    drawn = [y for s in series for x, y in s.points if (s.name, x) not in skipped]
    xs = [x for s in series for x, _ in s.points]
    x_axis = _x_axis(x_range or (min(xs, default=0), max(xs, default=1)))
    y_range = (HEIGHT - BOTTOM, TOP)
    y_axis = (
        _log(drawn, y_range)
        if log_y
        else _linear(min(drawn, default=0), max(drawn, default=1), y_range)
    )
    parts = [_open(label), *_axes(x_axis, y_axis, x_label)]
    for i, s in enumerate(series):
        color = COLORS[i % len(COLORS)]
        parts += _lines(s, color, skipped, x_axis, y_axis)
        parts.append(_legend_entry(i, s.name, color))
    parts += _gap_marks(gaps(series, log_y), x_axis, x_label)
    parts.append("</svg>")
    return "\n".join(parts)


@dataclass(frozen=True)
class Lane:
    """One row of a lanes chart: marks at some x (each with its tooltip), ``ok`` elsewhere."""

    name: str
    marks: Sequence[tuple[float, str]]


def lanes_chart(lanes: Sequence[Lane], x_range: tuple[float, float], *, label: str) -> str:
    """One row per lane, named on the right (where line charts have their legend, so the
    epochs line up): green until its first mark, red after it, a red diamond at each mark."""
    parts, x_axis, ys, _ = _row_frame([lane.name for lane in lanes], x_range, label, row=26)
    for lane, y in zip(lanes, ys, strict=True):
        name = escape(lane.name)
        first = min((x_axis.px(x) for x, _ in lane.marks), default=WIDTH - RIGHT)
        for state, a, b, color in (
            ("ok", LEFT, first, "#2ca02c"),
            ("fired", first, WIDTH - RIGHT, "#d62728"),
        ):
            if b > a:
                parts.append(
                    f'<line class="lane" data-rule="{name}" data-state="{state}" x1="{a:.1f}" '
                    f'y1="{y:.1f}" x2="{b:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="3" '
                    'stroke-opacity="0.35"/>'
                )
        for x, title in lane.marks:
            px = x_axis.px(x)
            parts.append(
                f'<path class="fired" data-rule="{name}" data-x="{_num(x)}" '
                f'd="M{px:.1f},{y - 7:.1f} l7,7 l-7,7 l-7,-7 z" fill="#d62728">'
                f"<title>{escape(title)}</title></path>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


@dataclass(frozen=True)
class DotRow:
    """One row of a dots chart: at each x a dot, filled when ``on``, with its tooltip."""

    name: str
    dots: Sequence[tuple[float, bool, str]]


def dots_chart(
    rows: Sequence[DotRow], x_range: tuple[float, float], *, label: str, x_label: str = "epoch"
) -> str:
    """One row per name (named on the right, as in the other charts): a filled red dot where
    the row is ``on`` at that x (a column drifted in that window), a grey ring where it is not.
    Unlike a lane, a row does not stay red: each x stands for itself."""
    parts, x_axis, ys, height = _row_frame([r.name for r in rows], x_range, label, row=22)
    for r, y in zip(rows, ys, strict=True):
        name = escape(r.name)
        for x, on, title in r.dots:
            paint = 'fill="#d62728"' if on else 'fill="none" stroke="#999"'
            parts.append(
                f'<circle class="dot" data-row="{name}" data-x="{_num(x)}" '
                f'data-on="{"true" if on else "false"}" cx="{x_axis.px(x):.1f}" cy="{y:.1f}" '
                f'r="5" {paint}><title>{escape(title)}</title></circle>'
            )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{height - 6}" text-anchor="middle" '
        f'font-size="12">{escape(x_label)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _row_frame(
    names: Sequence[str], x_range: tuple[float, float], label: str, *, row: int
) -> tuple[list[str], _Axis, list[float], int]:
    """The frame lanes and dots charts share: ``row`` pixels a name (at least one row's
    height), the x ticks, each name on the right where line charts have their legend (so the
    x positions line up). Returns the parts so far, the x axis, each row's centre and the
    chart's height."""
    height = TOP + row * max(len(names), 1) + BOTTOM
    x_axis = _x_axis(x_range)
    parts = [_open(label, height), *_x_ticks(x_axis, TOP, height - BOTTOM)]
    ys = [TOP + row * i + row / 2 for i in range(len(names))]
    for name, y in zip(names, ys, strict=True):
        parts.append(
            f'<text x="{WIDTH - RIGHT + 12}" y="{y + 4:.1f}" font-size="12">{escape(name)}</text>'
        )
    return parts, x_axis, ys, height


# -- axes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """Values ``lo``..``hi`` onto pixels ``start``..``end`` (log: lo, hi are log10 of them)."""

    lo: float
    hi: float
    ticks: Sequence[float]  # values, not pixels
    start: float
    end: float
    log: bool = False

    def px(self, value: float) -> float:
        at = math.log10(value) if self.log else value
        return self.start + (at - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def label(self, value: float) -> str:
        return f"{value:g}" if self.log else _num(value)


def _x_axis(x_range: tuple[float, float]) -> _Axis:
    """Epochs: exactly the run's first to last (inset a little from the frame, so a mark at
    either end shows whole), ticks at round epochs and the first one."""
    lo, hi = x_range
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    step = max(_nice((hi - lo) / 6), 1.0)
    ticks = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
    if not ticks or ticks[0] - lo >= step / 2:
        ticks.insert(0, lo)
    return _Axis(lo, hi, ticks, LEFT + INSET, WIDTH - RIGHT - INSET)


def _linear(lo: float, hi: float, pixels: tuple[float, float]) -> _Axis:
    """Round numbers around ``lo``..``hi``; a flat series gets ±10 % of its value."""
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice((hi - lo) / 5)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    ticks = [lo + i * step for i in range(round((hi - lo) / step) + 1)]
    return _Axis(lo, hi, ticks, *pixels)


def _log(values: Sequence[float], pixels: tuple[float, float]) -> _Axis:
    """Whole decades around the positive ``values``, a tick at each (at most 9)."""
    positive = [v for v in values if v > 0]
    lo = math.floor(math.log10(min(positive, default=1)))
    hi = max(math.ceil(math.log10(max(positive, default=10))), lo + 1)
    every = max(1, math.ceil((hi - lo) / 8))
    ticks = [10.0**k for k in range(lo, hi + 1, every)]
    return _Axis(lo, hi, ticks, *pixels, log=True)


def _nice(raw: float) -> float:
    """1, 2 or 5 × a power of ten, at least ``raw``."""
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999)


def _open(label: str, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(label)}" '
        'font-family="sans-serif">'
    )


def _axes(x: _Axis, y: _Axis, x_label: str) -> list[str]:
    base = HEIGHT - BOTTOM
    parts = [
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{base - TOP}" '
        'fill="none" stroke="#999"/>'
    ]
    for tick in y.ticks:
        py, text = y.px(tick), y.label(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{py:.1f}" x2="{WIDTH - RIGHT}" y2="{py:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(text)}</text>"
        )
    parts += _x_ticks(x, TOP, base)
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'font-size="12">{escape(x_label)}{" (y: log scale)" if y.log else ""}</text>'
    )
    return parts


def _x_ticks(x: _Axis, top: float, base: float) -> list[str]:
    return [
        f'<line x1="{x.px(t):.1f}" y1="{top}" x2="{x.px(t):.1f}" y2="{base}" stroke="#f2f2f2"/>'
        f'<text x="{x.px(t):.1f}" y="{base + 15}" text-anchor="middle" font-size="11">'
        f"{_num(t)}</text>"
        for t in x.ticks
    ]


# -- marks --------------------------------------------------------------------------------------


def _lines(s: Series, color: str, skipped: set, x: _Axis, y: _Axis) -> list[str]:
    """Polylines between the gaps, and dots (all of them on a short series)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for px, py in s.points:
        if (s.name, px) in skipped:
            runs.append([])
        else:
            runs[-1].append((x.px(px), y.px(py)))
    name, parts = escape(s.name), []
    for run in filter(None, runs):
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
        parts.append(
            f'<polyline class="line" data-series="{name}" points="{points}" fill="none" '
            f'stroke="{color}" stroke-width="2"/>'
        )
        if len(run) == 1 or len(s.points) <= DOTS_UP_TO:
            parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{color}"/>' for a, b in run]
    return parts


def _gap_marks(found: Sequence[Gap], x: _Axis, x_label: str) -> list[str]:
    parts = []
    for gap in found:
        px = x.px(gap.x)
        parts.append(
            f'<g class="gap" data-series="{escape(gap.series)}" data-x="{_num(gap.x)}">'
            f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#d62728" stroke-dasharray="3,3" stroke-opacity="0.6"/>'
            f'<text x="{px:.1f}" y="{TOP + 12}" text-anchor="middle" fill="#d62728" '
            f'font-size="14">×<title>{escape(gap.series)} is {escape(gap.why)} at '
            f"{escape(x_label)} {_num(gap.x)}</title></text></g>"
        )
    return parts


def _legend_entry(i: int, name: str, color: str) -> str:
    x, y = WIDTH - RIGHT + 12, TOP + 10 + 18 * i
    return (
        f'<line x1="{x}" y1="{y}" x2="{x + 18}" y2="{y}" stroke="{color}" stroke-width="3"/>'
        f'<text x="{x + 24}" y="{y + 4}" font-size="12">{escape(name)}</text>'
    )


def _num(value: float) -> str:
    return f"{value:.4g}"
