"""Pins the public surface of ``ray_apps.monitoring``."""

from ray_apps import monitoring


def test_monitoring_public_names():
    assert sorted(monitoring.__all__) == [
        "BaselineStats",
        "ColumnStats",
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
        "parse_monitor_spec",
        "run_monitor",
    ]
    for name in monitoring.__all__:
        assert getattr(monitoring, name) is not None
