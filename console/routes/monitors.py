"""Monitors: each monitor (a model version's judged windows) with its alert state over time,
the drifted columns over time (charts), label coverage and model quality per window; one
window's tests, data quality and model quality beside its Evidently report, framed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.context import context_of
from console.guard import page
from console.headers import FRAMING_CSP
from console.readers.files import sandboxed_html
from console.readers.monitors import Monitor, find_window, list_monitors, report_path
from console.render import render
from ray_apps.charts import DotRow, Series, dots_chart, line_chart
from ray_apps.monitoring.verdicts import JudgedWindow

HOURS_UP_TO = 72  # a span of windows longer than this is drawn in days


@page()
def monitors_index(request: Request) -> Response:
    root = context_of(request).places.monitor_root
    monitors = list_monitors(root)
    return render(
        request,
        "monitors.html",
        monitors=[(m, charts(m)) for m in monitors],
        coverage=coverage,
        root=root,
    )


@page()
def monitor_window(request: Request) -> Response:
    p = request.path_params
    root = context_of(request).places.monitor_root
    w = find_window(root, p["model"], p["version"], p["window"])
    response = render(
        request,
        "monitor_window.html",
        w=w,
        s=w.summary,
        coverage=coverage(w),
        quality=quality_rows(w),
    )
    if w.has_report:  # the report, sandboxed, in a frame of this page
        response.headers["content-security-policy"] = FRAMING_CSP
    return response


@page()
def monitor_report(request: Request) -> Response:
    p = request.path_params
    path = report_path(
        context_of(request).places.monitor_root, p["model"], p["version"], p["window"]
    )
    return sandboxed_html(path, "monitor report", framed=True)


def charts(monitor: Monitor) -> list[tuple[str, Markup]]:
    """(title, inline SVG): the share of feature columns drifted per window, and a row per
    column that drifted in any window with a dot at each window (filled where it drifted)."""
    xs, x_label = _times(monitor.windows)
    at = list(zip(xs, monitor.windows, strict=True))
    span = (min(xs), max(xs))
    share = Series("drifted share %", [(x, 100 * w.summary.drifted_share) for x, w in at])
    line = line_chart([share], label="Drifted share", x_label=x_label, x_range=span)
    out = [("Drifted share", Markup(line))]
    drifted = sorted({c for w in monitor.windows for c in w.summary.drifted_columns})
    if drifted:
        rows = [
            DotRow(c, [(x, c in w.summary.drifted_columns, _title(w, c)) for x, w in at])
            for c in drifted
        ]
        dots = dots_chart(rows, span, label="Drifted columns", x_label=x_label)
        out.append(("Drifted columns", Markup(dots)))
    return out


def coverage(w: JudgedWindow) -> float | None:
    """The share of the window's rows with a label; None when it read no labels."""
    mq = w.summary.model_quality
    if mq is None or not mq.labeled_rows + mq.unlabeled_rows:
        return None
    return mq.labeled_rows / (mq.labeled_rows + mq.unlabeled_rows)


def _times(windows: list[JudgedWindow]) -> tuple[list[float], str]:
    """Each window's start as hours (or days) since the first one's, and the axis's label."""
    starts = [_utc(w.summary.window.since or w.verdict.decided_at) for w in windows]
    first = min(starts)
    seconds = [(t - first).total_seconds() for t in starts]
    unit, per = ("hours", 3600) if max(seconds) <= HOURS_UP_TO * 3600 else ("days", 86400)
    return [s / per for s in seconds], f"window start, {unit} since {first:%Y-%m-%d %H:%M} UTC"


def _title(w: JudgedWindow, column: str) -> str:
    verb = "drifted" if column in w.summary.drifted_columns else "did not drift"
    return f"{column} {verb} in window {w.key}"


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def quality_rows(w: JudgedWindow) -> list[dict[str, Any]]:
    mq = w.summary.model_quality
    if mq is None:
        return []
    return [
        {"metric": k, "value": v, "baseline": mq.baseline.get(k), "worse": mq.worsening(k)}
        for k, v in sorted(mq.metrics.items())
    ]


routes = [
    Route("/monitors", monitors_index),
    Route("/monitors/{model}/{version}/{window}", monitor_window),
    Route("/monitors/{model}/{version}/{window}/report", monitor_report),
]
