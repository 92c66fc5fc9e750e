"""Delivering a verdict: a webhook POST, a log line, and Prometheus gauges in a textfile.

A one-shot job is gone before any Prometheus could scrape it, so the gauges go to a file in
the textfile-collector format (node_exporter ``--collector.textfile.directory``, or any agent
that reads it), replaced atomically on every run; ``raymaker_monitor_violations`` is 0 after a
clean run, so an alert rule on it clears by itself.

The webhook gets the violations as JSON, retried on connection errors, timeouts, 429 and 5xx
with exponential backoff (``backoff_s``, 2×, 4×, … for ``attempts`` tries in all), never on
another 4xx (a wrong URL or token does not heal). Its URL may carry a token: only the host
appears in logs and errors.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ray_apps.errors import SpecError
from ray_apps.monitoring.alerts import Verdict
from ray_apps.monitoring.spec import WebhookSpec
from ray_apps.monitoring.summary import MonitorSummary

log = logging.getLogger("raymaker.monitor")


@dataclass(frozen=True)
class Delivery:
    """How a webhook POST went."""

    host: str
    delivered: bool
    attempts: int
    last_status: int | None  # the last HTTP status, None when the last try got no answer
    error: str | None = None


def webhook_url(spec: WebhookSpec) -> str:
    """The webhook address, from the spec or the environment variable it names."""
    if spec.url is not None:
        return spec.url
    url = os.environ.get(spec.url_env or "", "")
    if not url.startswith(("http://", "https://")):
        raise SpecError(
            f"alerts.webhook.url_env: environment variable {spec.url_env} "
            + ("is not set" if not url else "does not hold an http(s) URL")
            + "; set it to the webhook address"
        )
    return url


def host_of(url: str) -> str:
    """What may be logged of a URL: scheme, host and port (no path, query or credentials)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def post_webhook(
    url: str,
    payload: dict[str, Any],
    spec: WebhookSpec,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` as JSON, retrying transient failures; never raises for delivery."""
    import httpx

    host, status, error = host_of(url), None, None
    for attempt in range(1, spec.attempts + 1):
        try:
            answer = httpx.post(url, json=payload, timeout=spec.timeout_s)
            status, error = answer.status_code, None
            if answer.is_success:
                return Delivery(host, True, attempt, status)
            if status != 429 and status < 500:
                error = f"HTTP {status}; not retried"
                break
            error = f"HTTP {status}"
        except httpx.HTTPError as err:  # connection refused, timeout, …: worth another try
            status, error = None, type(err).__name__
        if attempt < spec.attempts:
            log.warning("webhook %s: attempt %d failed (%s); retrying", host, attempt, error)
            sleep(spec.backoff_s * 2 ** (attempt - 1))
    return Delivery(host, False, attempt, status, error)


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
