"""Delivering a verdict: a webhook POST, a log line, and Prometheus gauges in a textfile.

A one-shot job is gone before any Prometheus could scrape it, so the gauges go to a file in
the textfile-collector format (node_exporter ``--collector.textfile.directory``, or any agent
that reads it), replaced atomically on every run; ``raymaker_monitor_violations`` is 0 after a
clean run, so an alert rule on it clears by itself.

The webhook gets the violations as JSON through ``ray_apps.webhook`` (retries, backoff, the
HMAC signature when ``secret_env`` is set), the delivery every part that alerts shares.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ray_apps.monitoring.alerts import Verdict
from ray_apps.monitoring.summary import MonitorSummary
from ray_apps.webhook import Delivery, host_of, post_webhook, webhook_secret, webhook_url

__all__ = [
    "Delivery",
    "alert_payload",
    "host_of",
    "log_line",
    "post_webhook",
    "webhook_secret",
    "webhook_url",
    "write_gauges",
]


def alert_payload(summary: MonitorSummary, verdict: Verdict, report: str) -> dict[str, Any]:
    """The webhook's JSON body."""
    return {
        "model": summary.model,
        "version": summary.version,
        "window": {
            "key": summary.window.key,
            "since": summary.window.since.isoformat() if summary.window.since else None,
            "until": summary.window.until.isoformat() if summary.window.until else None,
        },
        "rows": summary.rows,
        **verdict.to_dict(),
        "report": report,
    }


def log_line(summary: MonitorSummary, verdict: Verdict) -> str:
    """One line saying what the run decided (printed by the CLI, logged by the job)."""
    head = f"{summary.model}:{summary.version} window {summary.window.key}"
    mq = summary.model_quality
    scored = ""
    if mq is not None:
        shown = ", ".join(f"{m} {v:.3g}" for m, v in mq.metrics.items())
        scored = f"; {mq.labeled_rows} rows labelled" + (f": {shown}" if shown else "")
    if verdict.status == "too_few_rows":
        return f"{head}: {summary.rows} rows, too few to judge{scored}"
    if verdict.status == "ok":
        return f"{head}: ok ({summary.rows} rows, no drift, no data-quality violation{scored})"
    kinds = sorted({v.kind for v in verdict.violations})
    return (
        f"{head}: {len(verdict.violations)} violations ({', '.join(kinds)}) "
        f"in {summary.rows} rows{scored}"
    )


def write_gauges(path: Path, summary: MonitorSummary, verdict: Verdict) -> Path:
    """Write the run's gauges in the Prometheus textfile format, replacing the file atomically."""
    labels = f'model="{_escape(summary.model)}",version="{_escape(summary.version)}"'
    lines = [
        "# HELP raymaker_monitor_violations Violations found by the last monitor run.",
        "# TYPE raymaker_monitor_violations gauge",
        f"raymaker_monitor_violations{{{labels}}} {len(verdict.violations)}",
        "# HELP raymaker_monitor_drifted_share Share of feature columns that drifted.",
        "# TYPE raymaker_monitor_drifted_share gauge",
        f"raymaker_monitor_drifted_share{{{labels}}} {summary.drifted_share:.6g}",
        "# HELP raymaker_monitor_rows Rows judged by the last monitor run.",
        "# TYPE raymaker_monitor_rows gauge",
        f"raymaker_monitor_rows{{{labels}}} {summary.rows}",
        "# HELP raymaker_monitor_last_run_timestamp_seconds When the last run decided.",
        "# TYPE raymaker_monitor_last_run_timestamp_seconds gauge",
        f"raymaker_monitor_last_run_timestamp_seconds{{{labels}}} "
        f"{verdict.decided_at.timestamp():.3f}",
        "# HELP raymaker_monitor_column_drifted 1 when the feature drifted in the last run.",
        "# TYPE raymaker_monitor_column_drifted gauge",
        *(
            f'raymaker_monitor_column_drifted{{{labels},column="{_escape(c.column)}"}} '
            f"{int(c.drifted)}"
            for c in summary.columns
        ),
        *_quality_gauges(labels, summary),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)  # the collector never reads half a file
    return path


def _quality_gauges(labels: str, summary: MonitorSummary) -> list[str]:
    mq = summary.model_quality
    if mq is None or not mq.metrics:
        return []
    return [
        "# HELP raymaker_monitor_model_quality A metric of the window's labelled rows.",
        "# TYPE raymaker_monitor_model_quality gauge",
        *(
            f'raymaker_monitor_model_quality{{{labels},metric="{m}"}} {v:.6g}'
            for m, v in mq.metrics.items()
        ),
        "# HELP raymaker_monitor_labeled_rows Rows of the window with a ground-truth label.",
        "# TYPE raymaker_monitor_labeled_rows gauge",
        f"raymaker_monitor_labeled_rows{{{labels}}} {mq.labeled_rows}",
    ]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
