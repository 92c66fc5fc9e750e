"""A run's health report: one self-contained HTML page of its curves and its rules' verdicts.

People would rather look at a curve than read a log. For a run with a ``health:`` section the
runner writes ``<run_dir>/health_report.html`` when the run ends (finished, stopped by a rule,
or failed after an epoch) and logs it to the run's MLflow run as ``health/health_report.html``:

* loss — ``train_loss`` and ``val_loss`` per epoch;
* gradients — ``grad_norm``, ``grad_abs_mean``, ``update_ratio``, one chart each, where reported;
* step time per rank (``rank<r>_step_time_s``; one rank's ``step_time_s`` on a single process)
  and ``epoch_time_s``;
* each configured rule's verdict over the epochs: a mark where it fired, ``ok`` where it never
  did, from the run log's findings.

A value that cannot be drawn (NaN, infinite, or ≤ 0 on a log scale) breaks its line, is marked,
and is listed under its chart. ``render_health_report`` is a pure function of the run log's
numbers; nothing here runs in the training loop.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from ray_apps.charts import Lane, Series, gaps, lanes_chart, line_chart

REPORT_NAME = "health_report.html"
MLFLOW_DIR = "health"  # the artifact lands at health/health_report.html

Row = Mapping[str, Any]
_RANK = re.compile(r"^rank(\d+)_step_time_s$")
# (chart id, title, the run log's metrics it draws); step time per rank follows them.
_CHARTS = (
    ("loss", "Loss", ("train_loss", "val_loss")),
    ("grad_norm", "Gradient norm", ("grad_norm",)),
    ("grad_abs_mean", "Mean |gradient|", ("grad_abs_mean",)),
    ("update_ratio", "Update / weight ratio", ("update_ratio",)),
    ("epoch_time", "Epoch time (s)", ("epoch_time_s",)),
)
# Automatic y scale: log where a chart's values are positive and span this many decades.
LOG_FROM_DECADES = 2.0


def render_health_report(
    history: Sequence[Row],
    findings: Sequence[Row],
    rules: Sequence[str],
    *,
    run_id: str,
    state: str,
    unit: str = "epoch",
    log_y: bool | None = None,
) -> str:
    """The report's HTML: ``history`` the run log's per-epoch rows, ``findings`` its fired
    rules, ``rules`` the configured rule names, ``state`` how the run ended (a short line).
    ``log_y``: log-scale y axes (None: where a chart's positive values span 2+ decades)."""
    epochs = [float(r["epoch"]) for r in history if _number(r.get("epoch"))]
    span = (min(epochs, default=0), max(epochs, default=1))
    charts = [(chart_id, title, _series(history, names)) for chart_id, title, names in _CHARTS]
    charts.append(("step_time", "Step time per rank (s)", _ranks(history)))
    figures = [_figure(chart_id, title, s, unit, log_y, span) for chart_id, title, s in charts]
    body = [
        f"<h1>Health report: {escape(run_id)}</h1>",
        f'<p class="state">state: {escape(state)} · {len(history)} {escape(unit)}(s) · rules: '
        f"{escape(', '.join(rules) or 'none')}</p>",
        *filter(None, figures),
        _verdicts(findings, rules, epochs, unit),
    ]
    return _PAGE.format(title=escape(f"health report: {run_id}"), body="\n".join(body))


def write_health_report(
    run_dir: str, rules: Sequence[str], *, run_id: str, state: str, unit: str = "epoch"
) -> str:
    """Render the report from the run log in ``run_dir`` and write it to
    ``<run_dir>/health_report.html`` (a local path or a storage URI); returns where."""
    import fsspec

    from ray_apps.training.run_log import RunLog

    log = RunLog(run_dir)
    html = render_health_report(
        log.history(), log.health_findings(), rules, run_id=run_id, state=state, unit=unit
    )
    path = f"{run_dir.rstrip('/')}/{REPORT_NAME}"
    with fsspec.open(path, "w", encoding="utf-8") as f:
        f.write(html)
    return path


# -- what is drawn ------------------------------------------------------------------------------


def _series(history: Sequence[Row], names: Iterable[str]) -> list[Series]:
    """One series per name the run reported at least once (missing epochs are skipped)."""
    out = []
    for name in names:
        points = [(float(r["epoch"]), float(r[name])) for r in history if _number(r.get(name))]
        if points:
            out.append(Series(name, points))
    return out


def _ranks(history: Sequence[Row]) -> list[Series]:
    """Each rank's step time: ``rank<r>_step_time_s`` (a worker group's ranks) or the
    ``rank_step_time_s`` list the health watch keeps; a single process's ``step_time_s``."""
    per_rank: dict[int, list[tuple[float, float]]] = {}
    for row in history:
        times = {int(m.group(1)): v for k, v in row.items() if (m := _RANK.match(k))}
        if not times and isinstance(row.get("rank_step_time_s"), list | tuple):
            times = dict(enumerate(row["rank_step_time_s"]))
        for rank, value in times.items():
            if _number(value):
                per_rank.setdefault(rank, []).append((float(row["epoch"]), float(value)))
    if per_rank:
        return [Series(f"rank {r}", per_rank[r]) for r in sorted(per_rank)]
    return [Series("rank 0", s.points) for s in _series(history, ["step_time_s"])]


def _figure(
    chart_id: str,
    title: str,
    series: list[Series],
    unit: str,
    log_y: bool | None,
    span: tuple[float, float],
) -> str | None:
    if not series:
        return None
    log = _wants_log(series) if log_y is None else log_y
    svg = line_chart(series, label=title, log_y=log, x_label=unit, x_range=span)
    notes = [
        f"{g.series} is {g.why} at {unit} {g.x:g}: not drawn (a gap in its line, marked ×)"
        for g in gaps(series, log)
    ]
    note = (
        '<ul class="gaps">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    return (
        f'<figure class="chart" id="chart-{chart_id}" data-signal="{chart_id}">'
        f"<figcaption>{escape(title)}</figcaption>\n{svg}\n{note}</figure>"
    )


def _wants_log(series: Sequence[Series]) -> bool:
    values = [y for s in series for _, y in s.points if math.isfinite(y)]
    if not values or min(values) <= 0:
        return False
    return math.log10(max(values) / min(values)) >= LOG_FROM_DECADES


def _verdicts(findings: Sequence[Row], rules: Sequence[str], epochs: list[float], unit: str) -> str:
    """Each rule's lane (marks where it fired) and a table: ``ok`` or when and why it fired."""
    names = list(dict.fromkeys([*rules, *(str(f.get("rule")) for f in findings)]))
    if not names:
        return "<h2>Rules</h2><p>No rules configured.</p>"
    fired: dict[str, list[Row]] = {n: [] for n in names}
    for f in findings:
        fired[str(f.get("rule"))].append(f)
    lanes = [
        Lane(n, [(float(f["epoch"]), _said(f, unit)) for f in fired[n] if _number(f.get("epoch"))])
        for n in names
    ]
    marked = [x for lane in lanes for x, _ in lane.marks]
    span = (min(epochs + marked, default=0), max(epochs + marked, default=1))
    rows = "".join(_verdict_row(n, fired[n], unit) for n in names)
    return (
        '<figure class="chart" id="chart-rules" data-signal="rules">'
        f"<figcaption>Rule verdicts per {escape(unit)}</figcaption>\n"
        f"{lanes_chart(lanes, span, label='rule verdicts')}</figure>\n"
        '<table class="verdicts"><tr><th>rule</th><th>verdict</th><th>actions</th>'
        f"<th>message</th></tr>{rows}</table>"
    )


def _verdict_row(rule: str, fired: Sequence[Row], unit: str) -> str:
    if not fired:
        return f'<tr data-rule="{escape(rule)}"><td>{escape(rule)}</td><td class="ok">ok</td>' + (
            "<td></td><td></td></tr>"
        )
    at = ", ".join(str(f.get("epoch")) for f in fired)
    actions = ", ".join(dict.fromkeys(a for f in fired for a in f.get("actions") or ()))
    return (
        f'<tr data-rule="{escape(rule)}"><td>{escape(rule)}</td>'
        f'<td class="fired">fired at {escape(unit)} {escape(at)}</td>'
        f"<td>{escape(actions)}</td><td>{escape(str(fired[-1].get('message', '')))}</td></tr>"
    )


def _said(finding: Row, unit: str) -> str:
    return f"{finding.get('rule')} fired at {unit} {finding.get('epoch')}: {finding.get('message')}"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
figure.chart {{ margin: 0 0 24px; }}
figcaption {{ font-weight: bold; margin-bottom: 4px; }}
ul.gaps {{ color: #d62728; font-size: 13px; margin: 4px 0; }}
table.verdicts {{ border-collapse: collapse; font-size: 13px; }}
table.verdicts td, table.verdicts th {{ border: 1px solid #ccc; padding: 4px 8px; }}
td.ok {{ color: #2ca02c; }} td.fired {{ color: #d62728; }}
</style></head>
<body>
{body}
</body></html>
"""
