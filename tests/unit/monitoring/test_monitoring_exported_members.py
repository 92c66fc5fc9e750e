"""Pins the public surface of ``ray_apps.monitoring``."""

from ray_apps import monitoring


def test_monitoring_public_names():
    assert sorted(monitoring.__all__) == [
        "BaselineStats",
        "ColumnStats",
        "Due",
        "ExitCode",
        "MonitorJobSpec",
        "MonitorResult",
        "MonitorSummary",
        "Thresholds",
        "Verdict",
        "Violation",
        "Window",
        "baseline_stats",
        "compute_stats",
        "decide",
        "next_window",
        "parse_monitor_spec",
        "run_monitor",
        "run_schedule",
    ]
    for name in monitoring.__all__:
        assert getattr(monitoring, name) is not None
