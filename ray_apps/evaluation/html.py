"""A small self-contained HTML page of an evaluation report (no scripts, no external assets)."""

from __future__ import annotations

import math
from html import escape

from ray_apps.evaluation.report import EvaluationReport


def render_html(report: EvaluationReport, reasons: list[str]) -> str:
    r = report
    parts = [
        f"<h1>Evaluation of {escape(r.model)}</h1>",
        f"<p>{r.rows} rows of {escape(r.data)}; task {r.task}; ranking metric {r.metric}</p>",
        "<h2>Gate: " + ("passed" if not reasons else "FAILED") + "</h2>",
        _list(reasons),
        "<h2>Overall</h2>",
        _table(["metric", "value"], [[k, _f(v)] for k, v in r.overall.items()]),
    ]
    if r.slices:
        parts += [
            "<h2>Slices (worst first; unranked below min size)</h2>",
            _table(
                ["column", "slice", "rows", "ranked", *r.overall],
                [
                    [s.column, s.slice, s.size, "yes" if s.ranked else "no"]
                    + [_f(s.metrics.get(k, math.nan)) for k in r.overall]
                    for s in r.slices
                ],
            ),
        ]
    if r.calibration is not None:
        c = r.calibration
        parts += [
            f"<h2>Calibration of P({escape(c.positive_class)})</h2>",
            f"<p>Brier {_f(c.brier)}, ECE {_f(c.expected_error)}, MCE {_f(c.max_error)}</p>",
            _table(
                ["bin", "rows", "mean predicted", "observed"],
                [
                    [f"[{b.low:.2f}, {b.high:.2f})", b.count, _f(b.mean_predicted), _f(b.observed)]
                    for b in c.bins
                ],
            ),
        ]
    if r.robustness is not None:
        rb = r.robustness
        parts += [
            f"<h2>Robustness ({rb.metric} {_f(rb.clean)} without noise, seed {rb.seed})</h2>",
            _table(
                ["noise (std)", rb.metric, "drop", "predictions changed"],
                [[lv.noise, _f(lv.value), _f(lv.drop), _pct(lv.changed_share)] for lv in rb.levels],
            ),
        ]
    if r.invariance:
        parts += [
            "<h2>Invariance</h2>",
            _table(
                ["feature", "change", "compared", "change rate"],
                [[i.feature, i.change, i.compared, _pct(i.change_rate)] for i in r.invariance],
            ),
        ]
    if r.directional:
        parts += [
            "<h2>Directional expectations</h2>",
            _table(
                ["feature", "delta", "expected", "score", "violation rate", "mean change"],
                [
                    [
                        d.feature,
                        d.delta,
                        d.direction,
                        d.score,
                        _pct(d.violation_rate),
                        _f(d.mean_change),
                    ]
                    for d in r.directional
                ],  # fmt: skip
            ),
        ]
    style = "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"
    body = "\n".join(parts)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation of "
        f"{escape(r.model)}</title><style>{style}</style></head><body>\n{body}\n</body></html>\n"
    )


def _table(head: list, rows: list[list]) -> str:
    th = "".join(f"<th>{escape(str(h))}</th>" for h in head)
    trs = "".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{th}</tr>{trs}</table>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>" if items else ""


def _f(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def _pct(v: float) -> str:
    return f"{v:.1%}"
