"""The monitor spec: bad input is refused at the edge with the field named."""

import re

import pytest

from ray_apps.errors import SpecError
from ray_apps.monitoring import parse_monitor_spec


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"model": "m:1", "thresholds": {"drift_alpha": 2}},
            "thresholds.drift_alpha: Input should",
        ),
        ({"model": "m:1", "thresholds": {"min_row": 5}}, "thresholds.min_row: unknown field"),
        ({"model": "m:1", "thresholds": {"drifted_share": 0}}, "thresholds.drifted_share"),
        ({"model": "m:x"}, "positive integer"),
        ({"model": "m:1", "report_rows": 10}, "report_rows: Input should be greater than or"),
        ({"model": "m:1", "ray_min_rows": 0}, "ray_min_rows: Input should be greater than or"),
        ({}, "model: required field is missing"),
        ({"model": "m", "artifact": "/a"}, "names no version, and artifact is given"),
        ({"model": "m:1", "alerts": {"webhook": {}}}, "alerts.webhook: give exactly one of url"),
        ({"model": "m:1", "alerts": {"webhook": {"url": "ftp://x"}}}, "alerts.webhook.url"),
        (
            {"model": "m:1", "current": {"since": "2026-11-24T11:00", "until": "2026-11-24T10:00"}},
            "current: since (2026-11-24T11:00:00+00:00) is not before until",
        ),
        (
            {"model": "m:1", "current": {"capture": "/c", "dataset": "/d"}},
            "capture and dataset both given",
        ),
    ],
)
def test_bad_specs_name_the_field(data, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        parse_monitor_spec(data)


def test_times_without_a_zone_are_utc_and_yaml_files_load(tmp_path):
    f = tmp_path / "monitor.yaml"
    f.write_text(
        "model: cancer:3\ncurrent: {since: 2026-11-24T10:00, until: 2026-11-24T12:00+01:00}\n"
    )
    spec = parse_monitor_spec(f)
    assert spec.current.since.isoformat() == "2026-11-24T10:00:00+00:00"
    assert spec.current.until.isoformat() == "2026-11-24T11:00:00+00:00"


def test_the_example_file_is_valid():
    spec = parse_monitor_spec("examples/monitor_cancer.yaml")
    assert spec.model == "cancer:1" and spec.alerts.webhook.url_env == "RAYMAKER_ALERT_WEBHOOK"
