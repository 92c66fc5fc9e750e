"""Watching models: baseline statistics, a drift and data-quality monitor, its alerts.

    from ray_apps.monitoring import run_monitor
    result = run_monitor({"model": "cancer:3",
                          "current": {"since": "2026-11-24T10:00Z", "until": "2026-11-24T11:00Z"}})
    result.verdict.status, [v.message for v in result.verdict.violations], result.report_dir

``baseline`` (statistics kept in each artifact), ``quality`` (data-quality checks), the
Evidently wrapper ``_evidently`` (drift tests, HTML), ``summary`` (what a run found),
``alerts`` (the pure decision and exit codes), ``delivery`` (webhook, log, gauges), ``window``
(which rows), ``spec`` and ``job`` (``run_monitor``), ``schedule`` (the pure choice of the next
window) and ``scheduler`` (``run_schedule``, the long-lived loop around it).
``python -m ray_apps.monitoring`` is the ``ray job submit`` entry point.
"""

from ray_apps.monitoring.alerts import ExitCode, Verdict, Violation, decide
from ray_apps.monitoring.baseline import BaselineStats, ColumnStats, baseline_stats, compute_stats
from ray_apps.monitoring.job import MonitorResult, run_monitor
from ray_apps.monitoring.schedule import Due, next_window
from ray_apps.monitoring.scheduler import run_schedule
from ray_apps.monitoring.spec import MonitorJobSpec, Thresholds, parse_monitor_spec
from ray_apps.monitoring.summary import MonitorSummary, Window

__all__ = [
    "BaselineStats",
    "ColumnStats",
    "ExitCode",
    "MonitorJobSpec",
    "MonitorResult",
    "MonitorSummary",
    "Thresholds",
    "Verdict",
    "Violation",
    "Due",
    "Window",
    "baseline_stats",
    "compute_stats",
    "decide",
    "next_window",
    "parse_monitor_spec",
    "run_monitor",
    "run_schedule",
]
