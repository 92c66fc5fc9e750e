"""What a bias run found (``BiasReport``), its JSON (``bias.json``) and a small HTML table."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

from ray_apps.bias.metrics import METRICS, POST_TRAINING, PRE_TRAINING, FacetBias
from ray_apps.monitoring.summary import Window

FORMAT_VERSION = 1


@dataclass(frozen=True)
class BiasReport:
    """Clarify's metrics for each group of the sensitive column against the rest."""

    model: str
    version: str
    window: Window
    sensitive: str
    positive_label: str
    grouping: str  # "value" | "bins"
    rows: int  # rows compared (a sensitive value present)
    missing_sensitive: int  # rows without a sensitive value: in no group
    labelled_rows: int
    label_source: str  # the label column, the labels file, or "none"
    prediction_source: str  # "captured" | "computed"
    groups: list[FacetBias] = field(default_factory=list)

    def group(self, name: str) -> FacetBias:
        return next(g for g in self.groups if g.facet == name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["format_version"] = FORMAT_VERSION
        d["window"]["key"] = self.window.key
        d["facet_vs"] = "rest"  # each group (facet d) against all other rows (a), as Clarify
        d["pre_training"], d["post_training"] = list(PRE_TRAINING), list(POST_TRAINING)
        return d


def _cell(value: float | None, reason: str | None) -> str:
    if value is None:
        return f'<td class="na" title="{html.escape(reason or "")}">n/a</td>'
    return f"<td>{value:.4f}</td>"


def render_html(report: BiasReport) -> str:
    """One table: a row per group, its counts and the metrics; n/a cells say why on hover."""
    head = "".join(f"<th>{m}</th>" for m in METRICS)
    rows = []
    for g in report.groups:
        cells = "".join(_cell(g.metrics[m], g.undefined.get(m)) for m in METRICS)
        rows.append(
            f"<tr><th>{html.escape(g.facet)}</th><td>{g.counts.rows}</td>"
            f"<td>{g.counts.labelled_positive}/{g.counts.labelled}</td>"
            f"<td>{g.counts.predicted_positive}</td>{cells}</tr>"
        )
    notes = sorted({f"{g.facet}: {m}: {r}" for g in report.groups for m, r in g.undefined.items()})
    title = html.escape(f"Bias of {report.model}:{report.version} by {report.sensitive}")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif}}td,th{{padding:4px 8px;border-bottom:1px solid #ddd;
text-align:right}}td.na{{color:#999}}</style></head><body>
<h1>{title}</h1>
<p>Each group (facet d) against all other rows (a), with SageMaker Clarify's formulas.
Positive label: <b>{html.escape(report.positive_label)}</b>. Rows: {report.rows}
({report.missing_sensitive} without a sensitive value; {report.labelled_rows} labelled, from
{html.escape(report.label_source)}). Predictions: {report.prediction_source}.
CI, DPL pre-training; DI, DPPL, AD, RD, SD, FPRD, FNRD post-training.</p>
<table><tr><th>group</th><th>rows</th><th>positive labels</th><th>positive predictions</th>
{head}</tr>
{"".join(rows)}
</table>
<ul>{"".join(f"<li>{html.escape(n)}</li>" for n in notes)}</ul>
</body></html>
"""


def table_lines(report: BiasReport) -> list[str]:
    """The report as a text table, for the CLI."""
    width = max([5, *(len(g.facet) for g in report.groups)])
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [f"{'group':<{width}} {'rows':>6} " + " ".join(f"{m:>6}" for m in METRICS)]
    for g in report.groups:
        values = " ".join(f"{fmt(g.metrics[m]):>6}" for m in METRICS)
        lines.append(f"{g.facet:<{width}} {g.counts.rows:>6} {values}")
    return lines
